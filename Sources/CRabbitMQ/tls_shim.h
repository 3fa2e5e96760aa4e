#ifndef WARREN_CRABBITMQ_TLS_SHIM_H
#define WARREN_CRABBITMQ_TLS_SHIM_H

// TLS additions to librabbitmq's SSL socket. librabbitmq 0.11 checks the peer only after the
// handshake and names neither the certificate problem nor the host it checked, sends the
// connect host as SNI, matches the host against DNS names only (so amqps://127.0.0.1 cannot
// verify), cannot load the system trust store, and prompts on the terminal for an encrypted
// key's passphrase. Warren therefore switches librabbitmq's own checks off and lets OpenSSL
// verify during the handshake, through the SSL_CTX that amqp_ssl_socket_get_context returns
// (each librabbitmq SSL socket has its own). Everything here runs on the connection's owner
// thread; the state a callback fills lives in the context's app data, never in globals.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>

/// What the handshake callbacks need and report, owned by the Swift caller for the socket's life.
typedef struct warren_tls_state {
    /// Name sent as SNI when non-empty (server_name_indication); else librabbitmq sends the host.
    char server_name[256];
    /// First certificate verification error (X509_V_ERR_*), 0 when none.
    int verify_error;
    /// Depth of that certificate in the chain (0 = the broker's own).
    int verify_depth;
    /// Subject of that certificate (public data, safe to log).
    char subject[256];
} warren_tls_state;

static inline warren_tls_state *warren_tls_state_of(const SSL *ssl) {
    return ssl ? (warren_tls_state *)SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
}

// Records the first verification failure so the error can name it: librabbitmq frees the SSL
// object on a failed handshake, so SSL_get_verify_result is gone by the time it returns.
static int warren_tls_verify_callback(int ok, X509_STORE_CTX *store) {
    if (ok) return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    warren_tls_state *state = warren_tls_state_of(ssl);
    if (state && state->verify_error == 0) {
        state->verify_error = X509_STORE_CTX_get_error(store);
        state->verify_depth = X509_STORE_CTX_get_error_depth(store);
        X509 *cert = X509_STORE_CTX_get_current_cert(store);
        if (cert) X509_NAME_oneline(X509_get_subject_name(cert), state->subject, sizeof state->subject);
    }
    return ok;
}

// librabbitmq sets SNI to the connect host after SSL_new; OpenSSL calls this at the start of
// SSL_connect, before it writes the ClientHello, so the name set here is the one sent.
static void warren_tls_info_callback(const SSL *ssl, int where, int ret) {
    (void)ret;
    if (!(where & SSL_CB_HANDSHAKE_START)) return;
    warren_tls_state *state = warren_tls_state_of(ssl);
    if (state && state->server_name[0]) SSL_set_tlsext_host_name((SSL *)ssl, state->server_name);
}

// OpenSSL's default asks on the terminal for an encrypted key's passphrase: a worker has none.
// Without a passphrase, loading such a key fails ("bad decrypt"/"bad password read").
static int warren_tls_password_callback(char *buffer, int size, int rwflag, void *passphrase) {
    (void)rwflag;
    if (!passphrase) return -1;
    size_t length = strlen((const char *)passphrase);
    if (length > (size_t)size) return -1;
    memcpy(buffer, passphrase, length);
    return (int)length;
}

/// Configures `socket` (from amqp_ssl_socket_new) before it opens. `expected_name` is the name
/// the broker's certificate must carry (an IP address is matched against IP SANs); `ca_file`
/// NULL means the system trust store (OpenSSL's default paths: /etc/ssl/certs on Debian, or
/// SSL_CERT_FILE / SSL_CERT_DIR). Returns 0, or -1 when the CA file cannot be loaded, -2 when
/// the system store cannot, -3 when the name cannot be set (see ERR_get_error).
static inline int warren_tls_configure(amqp_socket_t *socket, warren_tls_state *state, int verify,
                                       const char *ca_file, const char *expected_name) {
    SSL_CTX *ctx = (SSL_CTX *)amqp_ssl_socket_get_context(socket);
    amqp_ssl_socket_set_verify_peer(socket, 0);
    amqp_ssl_socket_set_verify_hostname(socket, 0);
    SSL_CTX_set_app_data(ctx, state);
    // No read-ahead (OpenSSL's default, made explicit): each SSL_read takes whole records from
    // the socket only as needed, so input not yet read stays in the kernel where the owner
    // thread's poll() sees it; librabbitmq's buffer takes a whole record (16 KiB) per read.
    SSL_CTX_set_read_ahead(ctx, 0);
    SSL_CTX_set_info_callback(ctx, warren_tls_info_callback);
    SSL_CTX_set_default_passwd_cb(ctx, warren_tls_password_callback);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    if (!verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return 0;
    }
    if (ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) return -1;
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        return -2;
    }
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, expected_name) != 1) {
        ERR_clear_error();  // not an IP address: a host name
        if (X509_VERIFY_PARAM_set1_host(param, expected_name, 0) != 1) return -3;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, warren_tls_verify_callback);
    return 0;
}

/// Loads the client certificate chain and key; `passphrase` (may be NULL) decrypts the key and
/// is forgotten by OpenSSL before this returns. AMQP_STATUS_OK or AMQP_STATUS_SSL_ERROR.
static inline int warren_tls_use_key(amqp_socket_t *socket, const char *cert_file, const char *key_file,
                                     const char *passphrase) {
    SSL_CTX *ctx = (SSL_CTX *)amqp_ssl_socket_get_context(socket);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)passphrase);
    int status = amqp_ssl_socket_set_key(socket, cert_file, key_file);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    return status;
}

/// The reason of the oldest error in this thread's OpenSSL error queue (e.g. "tlsv13 alert
/// certificate required", "bad decrypt"), copied into `buffer`; empties the queue. Empty when
/// none. Reasons name the failure, never key material.
static inline void warren_tls_take_error(char *buffer, size_t size) {
    unsigned long first = ERR_get_error();
    buffer[0] = 0;
    if (first == 0) return;
    const char *reason = ERR_reason_error_string(first);
    if (reason) {
        strncpy(buffer, reason, size - 1);
        buffer[size - 1] = 0;
    } else {
        ERR_error_string_n(first, buffer, size);
    }
    ERR_clear_error();
}

/// X509_verify_cert_error_string, e.g. "unable to get local issuer certificate".
static inline const char *warren_tls_verify_error_string(int error) {
    return X509_verify_cert_error_string(error);
}

#endif
