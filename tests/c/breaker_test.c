/*
 * Drives the breaker through the C ABI exactly as a C (or PHP FFI) caller would: store,
 * breaker, trip, reject, recover through half-open, the one-argument TmlBreakerCall path,
 * shared store across fork(), and the
 * error paths (NULL handles, bad names, bad JSON, invalid config, config mismatch, foreign
 * store file, bad outcome). Exits non-zero on the first failed check.
 */
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <time.h>
#include "tenantml.h"

static int checks = 0, failures = 0;

#define CHECK(cond, ...) do { \
    checks++; \
    if (!(cond)) { \
        failures++; \
        fprintf(stderr, "FAIL %s:%d: %s -- ", __FILE__, __LINE__, #cond); \
        fprintf(stderr, __VA_ARGS__); \
        fprintf(stderr, " (last error: %s)\n", tml_last_error() ? tml_last_error() : "none"); \
    } \
} while (0)

static bool last_error_contains(const char *needle) {
    const char *msg = tml_last_error();
    return msg != NULL && strstr(msg, needle) != NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void test_versions(void) {
    CHECK(tml_abi_version() == TML_ABI_VERSION, "abi %u", tml_abi_version());
    CHECK(tml_version() != NULL && strlen(tml_version()) > 0, "version string");
}

static void test_trip_reject_recover(void) {
    TmlBreakerStore *store = NULL;
    CHECK(tml_breaker_store_new(&store) == TML_STATUS_OK, "store_new");
    TmlBreaker *b = NULL;
    TmlStatus st = tml_breaker_new(store, "payments", "{\"open_wait_ms\": 50}", false, &b);
    CHECK(st == TML_STATUS_OK, "breaker_new -> %d", st);

    TmlPermit permit;
    TmlTransition tr;
    for (int i = 0; i < 5; i++) {
        CHECK(tml_breaker_allow(b, &permit) == TML_STATUS_OK, "allow %d", i);
        CHECK(tml_breaker_record(b, &permit, TML_OUTCOME_FAILURE, -1, &tr) == TML_STATUS_OK, "record %d", i);
        CHECK(tr.occurred == (i == 4), "transition only on the 5th failure (i=%d)", i);
    }
    CHECK(tr.from == TML_BREAKER_STATE_CLOSED && tr.to == TML_BREAKER_STATE_OPEN, "closed -> open");
    TmlBreakerState state;
    CHECK(tml_breaker_state(b, &state) == TML_STATUS_OK && state == TML_BREAKER_STATE_OPEN, "state open");

    st = tml_breaker_allow(b, &permit);
    CHECK(st == TML_STATUS_CIRCUIT_OPEN, "rejected -> %d", st);
    CHECK(permit.retry_after_ms > 0 && permit.retry_after_ms <= 50, "retry_after %llu", (unsigned long long)permit.retry_after_ms);
    CHECK(last_error_contains("circuit 'payments' is open"), "message");

    sleep_ms(60);
    CHECK(tml_breaker_allow(b, &permit) == TML_STATUS_OK, "probe allowed");
    CHECK(permit.lease == 1, "probe holds lease 0 -> %u", permit.lease);
    CHECK(permit.transition.occurred && permit.transition.to == TML_BREAKER_STATE_HALF_OPEN, "open -> half-open");
    TmlPermit second;
    CHECK(tml_breaker_allow(b, &second) == TML_STATUS_CIRCUIT_OPEN, "only one probe at a time");
    CHECK(tml_breaker_record(b, &permit, TML_OUTCOME_SUCCESS, 1000, &tr) == TML_STATUS_OK, "record probe");
    CHECK(tr.occurred && tr.from == TML_BREAKER_STATE_HALF_OPEN && tr.to == TML_BREAKER_STATE_CLOSED, "half-open -> closed");

    char *json = NULL;
    CHECK(tml_breaker_snapshot_json(b, &json) == TML_STATUS_OK, "snapshot");
    CHECK(json && strstr(json, "\"state\":\"closed\"") && strstr(json, "\"transitions\":3"), "snapshot json: %s", json);
    tml_string_free(json);

    char *metrics = NULL;
    CHECK(tml_breaker_store_metrics(store, &metrics) == TML_STATUS_OK, "metrics");
    CHECK(metrics && strstr(metrics, "tenantml_breaker_calls_total{breaker=\"payments\",outcome=\"failure\"} 5"), "metrics text: %s", metrics);
    tml_string_free(metrics);

    CHECK(tml_breaker_force_open(b, &tr) == TML_STATUS_OK && tr.to == TML_BREAKER_STATE_FORCED_OPEN, "force open");
    CHECK(tml_breaker_allow(b, &permit) == TML_STATUS_CIRCUIT_OPEN && permit.retry_after_ms == UINT64_MAX, "forced open never retries");
    CHECK(tml_breaker_reset(b, NULL) == TML_STATUS_OK, "reset with NULL out_transition");
    CHECK(tml_breaker_allow(b, &permit) == TML_STATUS_OK, "allowed after reset");

    tml_breaker_free(b);
    tml_breaker_store_free(store);
}

static void test_error_paths(void) {
    TmlBreakerStore *store = NULL;
    TmlBreaker *b = NULL;
    TmlPermit permit;
    CHECK(tml_breaker_store_new(NULL) == TML_STATUS_NULL_POINTER, "NULL out_store");
    CHECK(tml_breaker_allow(NULL, &permit) == TML_STATUS_NULL_POINTER, "NULL breaker");
    CHECK(last_error_contains("null pointer: breaker"), "null message");
    CHECK(tml_breaker_record(NULL, &permit, TML_OUTCOME_SUCCESS, -1, NULL) == TML_STATUS_NULL_POINTER, "NULL breaker record");
    CHECK(tml_breaker_store_new(&store) == TML_STATUS_OK, "store");
    CHECK(tml_breaker_new(store, NULL, NULL, false, &b) == TML_STATUS_NULL_POINTER, "NULL name");
    CHECK(tml_breaker_new(store, "", NULL, false, &b) == TML_STATUS_INVALID_ARGUMENT, "empty name");
    char long_name[80];
    memset(long_name, 'x', 65);
    long_name[65] = '\0';
    CHECK(tml_breaker_new(store, long_name, NULL, false, &b) == TML_STATUS_INVALID_ARGUMENT, "65-byte name");
    CHECK(last_error_contains("1..=64 bytes"), "name message");
    CHECK(tml_breaker_new(store, "x", "{not json", false, &b) == TML_STATUS_PARSE_ERROR, "malformed JSON");
    CHECK(tml_breaker_new(store, "x", "{\"treshold\": 3}", false, &b) == TML_STATUS_PARSE_ERROR, "unknown key");
    CHECK(tml_breaker_new(store, "x", "{\"failure_rate_threshold\": 1.5}", false, &b) == TML_STATUS_INVALID_ARGUMENT, "rate > 1");
    CHECK(last_error_contains("failure_rate_threshold must be in (0, 1], got 1.5"), "rate message");
    CHECK(tml_breaker_new(store, "x", "{\"sliding_window\": {\"kind\": \"count\", \"size\": 0}}", false, &b) == TML_STATUS_INVALID_ARGUMENT, "zero window");
    CHECK(b == NULL, "out_breaker untouched on failure");

    CHECK(tml_breaker_new(store, "x", NULL, false, &b) == TML_STATUS_OK, "defaults");
    TmlBreaker *other = NULL;
    CHECK(tml_breaker_new(store, "x", "{\"open_wait_ms\": 5}", false, &other) == TML_STATUS_CONFIG_MISMATCH, "mismatch");
    CHECK(tml_breaker_new(store, "x", "{\"open_wait_ms\": 5}", true, &other) == TML_STATUS_OK, "adopt");
    char *cfg = NULL;
    CHECK(tml_breaker_config_json(other, &cfg) == TML_STATUS_OK && strstr(cfg, "\"open_wait_ms\":60000"), "adopted config: %s", cfg);
    tml_string_free(cfg);
    CHECK(tml_breaker_allow(b, &permit) == TML_STATUS_OK, "allow");
    CHECK(tml_breaker_record(b, &permit, 7, -1, NULL) == TML_STATUS_INVALID_ARGUMENT, "bad outcome");
    permit.lease = 99;
    CHECK(tml_breaker_record(b, &permit, TML_OUTCOME_SUCCESS, -1, NULL) == TML_STATUS_INVALID_ARGUMENT, "forged lease");

    tml_breaker_free(other);
    tml_breaker_free(b);
    tml_breaker_free(NULL);
    tml_breaker_store_free(store);
    tml_breaker_store_free(NULL);
    tml_string_free(NULL);
}

static void test_call_struct(void) {
    TmlBreakerStore *store = NULL;
    TmlBreaker *b = NULL;
    CHECK(tml_breaker_store_new(&store) == TML_STATUS_OK, "store");
    CHECK(tml_breaker_new(store, "calls", "{\"consecutive_failure_threshold\": 2}", false, &b) == TML_STATUS_OK, "breaker");
    TmlBreakerCall call = { .breaker = b };
    CHECK(tml_breaker_call_begin(&call) == TML_STATUS_OK, "begin");
    CHECK(tml_breaker_call_success(&call) == TML_STATUS_OK && !call.transition.occurred, "success");
    CHECK(tml_breaker_call_success(&call) == TML_STATUS_INVALID_ARGUMENT, "ending a call twice");
    CHECK(last_error_contains("already recorded"), "double end message");
    CHECK(tml_breaker_call_begin(&call) == TML_STATUS_OK && tml_breaker_call_failure(&call) == TML_STATUS_OK, "failure 1");
    CHECK(tml_breaker_call_begin(&call) == TML_STATUS_OK && tml_breaker_call_failure(&call) == TML_STATUS_OK, "failure 2");
    CHECK(call.transition.occurred && call.transition.to == TML_BREAKER_STATE_OPEN, "second failure opens");
    CHECK(tml_breaker_call_begin(&call) == TML_STATUS_CIRCUIT_OPEN, "rejected");
    CHECK(call.permit.retry_after_ms > 0, "retry after %llu", (unsigned long long)call.permit.retry_after_ms);
    CHECK(tml_breaker_call_success(&call) == TML_STATUS_INVALID_ARGUMENT, "ending a rejected call");

    TmlPermit rejected;
    CHECK(tml_breaker_allow(b, &rejected) == TML_STATUS_CIRCUIT_OPEN, "rejected permit");
    CHECK(tml_breaker_record(b, &rejected, TML_OUTCOME_SUCCESS, -1, NULL) == TML_STATUS_INVALID_ARGUMENT, "recording a rejected permit");

    CHECK(tml_breaker_call_begin(NULL) == TML_STATUS_NULL_POINTER, "NULL call");
    TmlBreakerCall empty = { .breaker = NULL };
    CHECK(tml_breaker_call_begin(&empty) == TML_STATUS_NULL_POINTER, "NULL call.breaker");
    CHECK(last_error_contains("call.breaker"), "names the field");
    CHECK(tml_breaker_call_failure(&empty) == TML_STATUS_NULL_POINTER, "NULL call.breaker on end");
    tml_breaker_free(b);
    tml_breaker_store_free(store);
}

static void test_shared_store(const char *dir) {
    char options[512];
    snprintf(options, sizeof options, "{\"dir\": \"%s\", \"capacity\": 8}", dir);
    TmlBreakerStore *store = NULL;
    CHECK(tml_breaker_store_open_shared(options, &store) == TML_STATUS_OK, "open shared");
    TmlBreaker *b = NULL;
    CHECK(tml_breaker_new(store, "shared-api", NULL, false, &b) == TML_STATUS_OK, "shared breaker");

    /* A child process trips the breaker; the parent sees it open. */
    pid_t pid = fork();
    if (pid == 0) {
        TmlBreakerStore *cs = NULL;
        TmlBreaker *cb = NULL;
        if (tml_breaker_store_open_shared(options, &cs) != TML_STATUS_OK) _exit(2);
        if (tml_breaker_new(cs, "shared-api", NULL, false, &cb) != TML_STATUS_OK) _exit(3);
        for (int i = 0; i < 5; i++) {
            TmlPermit p;
            if (tml_breaker_allow(cb, &p) != TML_STATUS_OK) _exit(4);
            tml_breaker_record(cb, &p, TML_OUTCOME_FAILURE, -1, NULL);
        }
        tml_breaker_free(cb);
        tml_breaker_store_free(cs);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exit %d", status);
    TmlBreakerState state;
    CHECK(tml_breaker_state(b, &state) == TML_STATUS_OK && state == TML_BREAKER_STATE_OPEN, "parent sees open (%d)", state);
    tml_breaker_free(b);
    tml_breaker_store_free(store);

    /* A foreign file where the store should be is refused, not overwritten. */
    char path[512];
    snprintf(path, sizeof path, "%s/foreign.shm", dir);
    FILE *f = fopen(path, "w");
    fputs("this is somebody else's file, not a breaker store", f);
    fclose(f);
    snprintf(options, sizeof options, "{\"dir\": \"%s\", \"file_name\": \"foreign.shm\"}", dir);
    store = NULL;
    CHECK(tml_breaker_store_open_shared(options, &store) == TML_STATUS_STORE_CORRUPT, "foreign file");
    CHECK(last_error_contains("not a tenantml breaker store"), "foreign message");
    CHECK(store == NULL, "no handle on failure");
    CHECK(tml_breaker_store_open_shared("{\"capacity\": 0}", &store) == TML_STATUS_INVALID_ARGUMENT, "capacity 0");
    CHECK(tml_breaker_store_open_shared("{\"dir\": 5}", &store) == TML_STATUS_PARSE_ERROR, "bad options JSON");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    test_versions();
    test_trip_reject_recover();
    test_error_paths();
    test_call_struct();
    test_shared_store(argv[1]);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
