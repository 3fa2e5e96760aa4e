#!/usr/bin/env python3
"""`make lint`: every public symbol of Warren's libraries has a doc comment.

Lists each `public`/`open` declaration (func, var, let, init, subscript, struct, class, actor,
enum, protocol, typealias, associatedtype, macro), each `case` of a public enum, each requirement
of a public protocol and each member of a `public extension` (public without saying so) that has
no `///` line or `/** */` block directly above it (attribute lines such as `@inlinable` may stand
between), as `path:line: <declaration>`, and exits 1 if there is one.

Scans the library targets: every directory under Sources/ with Swift files except executable
targets (`.executableTarget` in Package.swift, e.g. WarrenCLI): nothing can import an executable,
so its declarations are no one's API. Declarations inside a non-public type or inside a function
body are not API either and are skipped.

A scanner, not a parser: it tracks strings (with interpolation), comments and braces well enough
for this code base. Usage: scripts/check-doc-comments.py [FILE_OR_DIR...] (default: as above);
`--self-test` checks the scanner against the fixture at the end of this file.
"""
import os
import re
import sys

MODIFIERS = {
    "public", "open", "internal", "fileprivate", "private", "package", "static", "class", "final",
    "override", "required", "convenience", "mutating", "nonmutating", "lazy", "weak", "unowned",
    "dynamic", "optional", "indirect", "nonisolated", "isolated", "consuming", "borrowing",
    "distributed", "prefix", "postfix", "infix",
}
DECLS = {
    "func", "var", "let", "init", "subscript", "struct", "class", "actor", "enum", "protocol",
    "typealias", "associatedtype", "case", "extension", "macro", "deinit",
}
SCOPES = {"struct", "class", "actor", "enum", "protocol", "extension"}
ACCESS = {"public", "open", "internal", "fileprivate", "private", "package"}
TOKEN = re.compile(r"@\w+(?:\([^()]*\))?|\w+(?:\(\w+\))?|\S")


def code_lines(text):
    """Each line with comments removed and string contents blanked (quotes kept), so that
    braces and keywords in strings and comments do not count."""
    out, line = [], []
    # Frames: ("code", paren depth or None at top level) or ("str", hashes, multiline).
    stack = [("code", None)]
    block_depth = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            out.append("".join(line))
            line = []
            i += 1
            continue
        if block_depth:
            if text.startswith("/*", i):
                block_depth += 1
                i += 2
            elif text.startswith("*/", i):
                block_depth -= 1
                i += 2
            else:
                i += 1
            continue
        frame = stack[-1]
        if frame[0] == "code":
            if text.startswith("//", i):
                while i < n and text[i] != "\n":
                    i += 1
                continue
            if text.startswith("/*", i):
                block_depth = 1
                i += 2
                continue
            m = re.compile(r'(#*)("""|")').match(text, i)
            if m:
                stack.append(("str", len(m.group(1)), m.group(2) == '"""'))
                line.append('"')
                i = m.end()
                continue
            if frame[1] is not None:
                if c == "(":
                    stack[-1] = ("code", frame[1] + 1)
                elif c == ")":
                    if frame[1] == 0:
                        stack.pop()
                        i += 1
                        continue
                    stack[-1] = ("code", frame[1] - 1)
            line.append(c)
            i += 1
            continue
        _, hashes, multiline = frame
        close = ('"""' if multiline else '"') + "#" * hashes
        if text.startswith(close, i):
            stack.pop()
            line.append('"')
            i += len(close)
            continue
        escape = "\\" + "#" * hashes
        if text.startswith(escape, i):
            j = i + len(escape)
            if j < n and text[j] == "(":
                stack.append(("code", 0))
                i = j + 1
                continue
            i = j + 1 if j < n and text[j] != "\n" else j
            continue
        i += 1
    out.append("".join(line))
    return out


def declaration(code):
    """(modifiers, keyword, name) if the line starts a declaration, else None."""
    tokens = TOKEN.findall(code)
    mods = []
    k = 0
    while k < len(tokens) and tokens[k].startswith("@"):
        k += 1
    while k < len(tokens):
        word = tokens[k]
        base = word.split("(")[0]
        if base == "class" and k + 1 < len(tokens) and tokens[k + 1] in {"func", "var", "let", "subscript"}:
            mods.append("class")
        elif word in DECLS:
            name = tokens[k + 1] if k + 1 < len(tokens) else ""
            return mods, word, name
        elif base in MODIFIERS:
            mods.append(word)
        else:
            return None
        k += 1
    return None


def documented(raw, index):
    j = index - 1
    while j >= 0 and raw[j].strip().startswith("@"):
        j -= 1
    if j < 0:
        return False
    above = raw[j].strip()
    if above.startswith("///"):
        return True
    if above.endswith("*/"):
        while j >= 0 and "/*" not in raw[j]:
            j -= 1
        return j >= 0 and "/**" in raw[j]
    return False


def check_file(path):
    """The undocumented public declarations of one file, as `path:line: text`."""
    with open(path, encoding="utf-8") as f:
        return check_text(path, f.read())


def check_text(path, text):
    """The undocumented public declarations in `text`, as `path:line: text`."""
    raw = text.split("\n")
    code = code_lines(text)
    problems = []
    # Scope kinds: "public-type", "public-enum", "public-protocol", "public-extension",
    # "extension", "hidden" (a non-public type: nothing in it is API), "body".
    scopes = []
    pending = None
    for index, line in enumerate(code):
        decl = declaration(line.strip())
        inside = scopes[-1] if scopes else "file"
        if decl and "body" not in scopes and "hidden" not in scopes:
            mods, keyword, name = decl
            access = {m.split("(")[0] for m in mods if m in ACCESS}
            explicit = bool(access & {"public", "open"})
            implicit = not access and (
                (inside == "public-enum" and keyword == "case")
                or inside in {"public-protocol", "public-extension"}
            )
            if keyword not in {"extension", "deinit"} and (explicit or implicit):
                if not documented(raw, index):
                    problems.append(f"{path}:{index + 1}: {raw[index].strip()}")
        if decl and decl[1] in SCOPES:
            mods, keyword, _ = decl
            public = any(m in {"public", "open"} for m in mods)
            if "body" in scopes or "hidden" in scopes:
                pending = "body"
            elif keyword == "extension":
                pending = "public-extension" if public else "extension"
            elif public or (inside in {"public-protocol", "public-extension"} and not any(m in ACCESS for m in mods)):
                pending = {"enum": "public-enum", "protocol": "public-protocol"}.get(keyword, "public-type")
            else:
                pending = "hidden"
        for c in line:
            if c == "{":
                scopes.append(pending or "body")
                pending = None
            elif c == "}" and scopes:
                scopes.pop()
    return problems


def library_sources(root):
    with open(os.path.join(root, "Package.swift"), encoding="utf-8") as f:
        manifest = f.read()
    executables = set(re.findall(r'\.executableTarget\(\s*name:\s*"([^"]+)"', manifest))
    dirs = []
    for name in sorted(os.listdir(os.path.join(root, "Sources"))):
        if name in executables:
            print(f"check-doc-comments: skipping executable target Sources/{name}", file=sys.stderr)
            continue
        dirs.append(os.path.join("Sources", name))
    return dirs


def swift_files(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for directory, subdirs, files in os.walk(path):
            subdirs.sort()
            for name in sorted(files):
                if name.endswith(".swift"):
                    yield os.path.join(directory, name)


# Every line marked MISSING must be reported, and no other: run by `make lint` (--self-test) so
# the check itself is known to fail where it should (strings, attributes, implicit publics).
SELF_TEST = r'''
/// ok
public struct A {
    let s = "{ public func fake() }"
    let m = """
        public var inString: Int {
        """
    /// ok
    @inlinable
    @discardableResult
    public func documentedWithAttributes() -> Int { 1 }
    public func MISSING1() {}
    /** block ok */
    public var blockDoc: Int { 1 }
    func helper() {
        struct Local { public var notAPI = 0 }
        switch 1 { case 1: break; default: break }
    }
    public private(set) var MISSING2 = 0
    @MainActor public static func MISSING3() {}
    let interp = "\(["a": "}"]["a"] ?? "{")"
    public init(MISSING11: Int) {}
    // a plain comment is not documentation
    public let MISSING12 = 0
}
// not a doc
/// ok
public enum E {
    case MISSING4
    /// ok
    case ok
    static func internalOne() {}
}
struct Hidden { public var notAPI = 0; public enum Inner { case notAPI } }
/// ok
public protocol P {
    func MISSING5()
    /// ok
    var ok: Int { get }
    associatedtype MISSING6
}
public extension A {
    func MISSING7() {}
    private func notAPI() {}
}
extension A: CustomStringConvertible {
    public var MISSING8: String { "" }
    var notAPI: Int { 0 }
}
/// ok
open class O {
    open func MISSING9() {}
    public class func MISSING10() {}
    final class Inner { public func notAPI() {} }
}
'''


def self_test():
    found = {int(p.split(":")[1]) for p in check_text("fixture", SELF_TEST)}
    expected = {i + 1 for i, line in enumerate(SELF_TEST.split("\n")) if "MISSING" in line}
    if found != expected:
        print(f"check-doc-comments: self-test failed: missed lines {sorted(expected - found)}, "
              f"wrongly reported lines {sorted(found - expected)}", file=sys.stderr)
        return 1
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(root)
    paths = sys.argv[1:] or library_sources(root)
    problems = [p for f in swift_files(paths) for p in check_file(f)]
    for p in problems:
        print(p)
    if problems:
        print(f"check-doc-comments: {len(problems)} public declaration(s) without a /// doc comment "
              "(say what it is and, for concurrency, on which thread or isolation it runs)", file=sys.stderr)
        return 1
    print("check-doc-comments: every public declaration has a doc comment", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
