%% The soak's fault agent: evaluated on the node by one long-running `rabbitmqctl eval`
%% (scripts/soaklib/agent.py fills in @DIR@ and @DEADLINE_MS@). Commands arrive as files
%% DIR/cmd-ID.term, each run in its own process; answers are written to DIR/res-ID (and
%% DIR/res-ID.armed for a close once its victims are watched). It stops when DIR/agent.stop
%% appears or its deadline passes, and dies with the node.
Dir = "@DIR@", Deadline = erlang:monotonic_time(millisecond) + @DEADLINE_MS@,
Now = fun() -> erlang:monotonic_time(millisecond) end,
Write = fun(Name, Term) ->
    Tmp = Dir ++ "/" ++ Name ++ ".tmp",
    ok = file:write_file(Tmp, io_lib:format("~p.~n", [Term])),
    file:rename(Tmp, Dir ++ "/" ++ Name) end,
NameOf = fun(P) ->
    try rabbit_networking:connection_info(P, [client_properties]) of
        [{client_properties, Props}] ->
            case lists:keyfind(<<"connection_name">>, 1, Props) of {_, _, N} when is_binary(N) -> N; _ -> <<>> end;
        _ -> <<>>
    catch _:_ -> <<>> end end,
EndsWith = fun(Name, S) -> byte_size(Name) >= byte_size(S)
    andalso binary:part(Name, byte_size(Name) - byte_size(S), byte_size(S)) =:= S end,
Find = fun(Suffixes) -> [{P, N} || P <- rabbit_networking:connections_local(), N <- [NameOf(P)],
    lists:any(fun(S) -> EndsWith(N, S) end, Suffixes)] end,
WaitFile = fun WF(Path, Until) ->
    case filelib:is_regular(Path) of
        true -> ok;
        false -> case Now() > Until of true -> timeout; false -> timer:sleep(1), WF(Path, Until) end
    end end,
WaitDown = fun WD(0, _) -> ok; WD(K, Until) ->
    receive {'DOWN', _, process, _, _} -> WD(K - 1, Until)
    after max(0, Until - Now()) -> timeout end end,
Exec = fun
    (Id, {close, Victims, Targets, DelayMs, Trigger, WaitMs}) ->
        Watched = Find(Victims),
        [erlang:monitor(process, P) || {P, _} <- Watched],
        Write("res-" ++ Id ++ ".armed", [{victims, [N || {_, N} <- Watched]}]),
        T0 = Now(),
        Triggered = case Trigger of none -> ok; _ -> WaitFile(Trigger, T0 + WaitMs) end,
        case Triggered of
            timeout -> Write("res-" ++ Id, [{result, not_triggered}]);
            ok ->
                T1 = Now(),
                Down = WaitDown(length(Watched), T1 + 10000),
                T2 = Now(),
                timer:sleep(DelayMs),
                Closed = [{N, catch rabbit_networking:close_connection(P, "soak: forced close")} || {P, N} <- Find(Targets)],
                Write("res-" ++ Id, [{result, fired}, {victims_down, Down}, {down_ms, T2 - T1},
                    {closed_ms, Now() - T1}, {closed, Closed}])
        end;
    (Id, {watermark, Fraction}) ->
        Write("res-" ++ Id, [{result, catch vm_memory_monitor:set_vm_memory_high_watermark(Fraction)},
            {alarms, catch rabbit_alarm:get_alarms()}]);
    (Id, unacked) ->
        Channels = [catch rabbit_channel:info(C, [connection, messages_unacknowledged]) || C <- rabbit_channel:list_local()],
        Names = [{P, NameOf(P)} || P <- rabbit_networking:connections_local()],
        Write("res-" ++ Id, [{N, lists:sum([proplists:get_value(messages_unacknowledged, I, 0)
            || I <- Channels, is_list(I), proplists:get_value(connection, I) =:= P])} || {P, N} <- Names]);
    (Id, ping) -> Write("res-" ++ Id, pong);
    (Id, Other) -> Write("res-" ++ Id, {unknown_command, Other})
end,
Write("agent.alive", os:getpid()),
Loop = fun L() ->
    case filelib:is_regular(Dir ++ "/agent.stop") orelse Now() > Deadline of
        true -> stopped;
        false ->
            {ok, Files} = file:list_dir(Dir),
            lists:foreach(fun(F) ->
                case lists:prefix("cmd-", F) andalso lists:suffix(".term", F) of
                    true ->
                        Path = Dir ++ "/" ++ F,
                        Id = lists:sublist(F, 5, length(F) - 9),
                        Cmd = file:consult(Path),
                        file:delete(Path),
                        case Cmd of
                            {ok, [C]} -> spawn(fun() -> Exec(Id, C) end);
                            Bad -> Write("res-" ++ Id, {bad_command, Bad})
                        end;
                    false -> ok
                end end, Files),
            timer:sleep(2),
            L()
    end end,
Loop().
