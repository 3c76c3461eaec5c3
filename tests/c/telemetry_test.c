/*
 * Telemetry through the C ABI: recording before and after the shared file is installed,
 * several forked processes adding into one file, the page with and without a breaker
 * store, a full table, and the error paths (NULL and invalid labels, NULL out-pointer,
 * foreign file, bad capacity). Exits non-zero on the first failed check.
 */
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
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

/* The value of the sample line starting with `series` followed by a space, or -1. */
static double sample(const char *page, const char *series) {
    size_t n = strlen(series);
    for (const char *line = page; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            return strtod(line + n + 1, NULL);
        }
    }
    return -1;
}

static char *page(const TmlBreakerStore *store) {
    char *text = NULL;
    TmlStatus st = tml_telemetry_metrics(store, &text);
    CHECK(st == TML_STATUS_OK && text != NULL, "metrics -> %d", st);
    return text;
}

static void test_in_process_default(void) {
    /* Before anything is installed, an in-process recorder counts. */
    CHECK(tml_telemetry_record_prediction("early", "model", 1500) == TML_STATUS_OK, "record");
    char *text = page(NULL);
    CHECK(sample(text, "tenantml_predictions_total{model=\"early\",outcome=\"model\"}") == 1, "early count");
    CHECK(sample(text, "tenantml_prediction_latency_seconds_bucket{model=\"early\",outcome=\"model\",le=\"0.0000025\"}") == 1, "bucket");
    CHECK(sample(text, "tenantml_prediction_latency_seconds_bucket{model=\"early\",outcome=\"model\",le=\"0.000001\"}") == 0, "bucket below");
    CHECK(strstr(text, "tenantml_breaker_state") == NULL, "no breaker families without a store");
    tml_string_free(text);
}

static void test_drift_gauges(void) {
    /* What tml_drift_report_json gives for ks_2samp([1..5], [6..10]) (written out: the
     * drift functions start worker threads, which the forked children below must not
     * inherit). */
    const char *report =
        "{\"features\":[{\"name\":\"amount\",\"kind\":\"numeric\",\"test\":\"ks\",\"statistic\":1.0,"
        "\"p_value\":0.007936507936507936,\"ks_method\":\"exact\",\"threshold\":0.05,\"drifted\":true,"
        "\"n_reference\":5,\"n_current\":5,\"missing_reference\":0,\"missing_current\":0}],"
        "\"n_drifted\":1,\"share_drifted\":1.0,\"drift_share\":0.5,\"dataset_drift\":true,"
        "\"bonferroni\":false}";
    TmlStatus st;
    st = tml_telemetry_record_drift("fraud", report);
    CHECK(st == TML_STATUS_OK, "record drift -> %d", st);
    char *text = page(NULL);
    CHECK(strstr(text, "tenantml_drift_detected{model=\"fraud\"} 1") != NULL, "detected gauge");
    CHECK(strstr(text, "tenantml_drift_score{model=\"fraud\",feature=\"amount\"} 1") != NULL,
          "score gauge: %s", text);
    tml_string_free(text);
    CHECK(tml_telemetry_record_drift("fraud", "{\"features\": 3}") == TML_STATUS_PARSE_ERROR,
          "malformed report");
    CHECK(tml_telemetry_record_drift("fraud", NULL) == TML_STATUS_NULL_POINTER, "NULL report");
}

static void test_shared_across_processes(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.shm", dir);
    CHECK(tml_telemetry_open_shared(path, 32) == TML_STATUS_OK, "open shared");
    CHECK(tml_telemetry_open_shared(path, 32) == TML_STATUS_OK, "open again: kept");
    enum { CHILDREN = 3, EACH = 100 };
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        if (pids[c] == 0) {
            for (int i = 0; i < EACH; i++) {
                if (tml_telemetry_record_prediction("http-api", i % 4 ? "model" : "fallback", 2000000) != TML_STATUS_OK) _exit(2);
            }
            _exit(0);
        }
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status = 0;
        waitpid(pids[c], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d exit %d", c, status);
    }
    CHECK(tml_telemetry_set_model_version("http-api", 12) == TML_STATUS_OK, "version");

    TmlBreakerStore *store = NULL;
    CHECK(tml_breaker_store_new(&store) == TML_STATUS_OK, "breaker store");
    TmlBreaker *b = NULL;
    CHECK(tml_breaker_new(store, "ml-api", NULL, false, &b) == TML_STATUS_OK, "breaker");
    char *text = page(store);
    CHECK(sample(text, "tenantml_predictions_total{model=\"http-api\",outcome=\"model\"}") == CHILDREN * EACH * 3 / 4, "children's model count");
    CHECK(sample(text, "tenantml_predictions_total{model=\"http-api\",outcome=\"fallback\"}") == CHILDREN * EACH / 4, "children's fallback count");
    CHECK(sample(text, "tenantml_prediction_latency_seconds_sum{model=\"http-api\",outcome=\"fallback\"}") == CHILDREN * EACH / 4 * 0.002, "latency sum");
    CHECK(sample(text, "tenantml_model_version_in_use{model=\"http-api\"}") == 12, "version gauge");
    CHECK(sample(text, "tenantml_predictions_total{model=\"early\",outcome=\"model\"}") == -1, "the shared file replaced the in-process recorder");
    CHECK(sample(text, "tenantml_breaker_state{breaker=\"ml-api\",state=\"closed\"}") == 1, "breaker families");
    CHECK(sample(text, "tenantml_telemetry_dropped_total") == 0, "nothing dropped");
    tml_string_free(text);
    tml_breaker_free(b);
    tml_breaker_store_free(store);
}

static void test_error_paths(const char *dir) {
    CHECK(tml_telemetry_record_prediction(NULL, "model", 1) == TML_STATUS_NULL_POINTER, "NULL model");
    CHECK(tml_telemetry_record_prediction("m", NULL, 1) == TML_STATUS_NULL_POINTER, "NULL outcome");
    CHECK(tml_telemetry_record_prediction("", "model", 1) == TML_STATUS_INVALID_ARGUMENT, "empty model");
    char long_name[80];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK(tml_telemetry_record_prediction(long_name, "model", 1) == TML_STATUS_INVALID_ARGUMENT, "65+ bytes");
    CHECK(last_error_contains("64 bytes"), "length message");
    CHECK(tml_telemetry_record_prediction("\xff\xfe", "model", 1) == TML_STATUS_INVALID_ARGUMENT, "not UTF-8");
    CHECK(tml_telemetry_set_model_version(NULL, 1) == TML_STATUS_NULL_POINTER, "NULL version model");
    CHECK(tml_telemetry_metrics(NULL, NULL) == TML_STATUS_NULL_POINTER, "NULL out_text");

    char path[512];
    snprintf(path, sizeof path, "%s/foreign.shm", dir);
    FILE *f = fopen(path, "w");
    fputs("somebody else's file, not a metrics table", f);
    fclose(f);
    CHECK(tml_telemetry_open_shared(path, 0) == TML_STATUS_STORE_CORRUPT, "foreign file");
    CHECK(last_error_contains("not a tenantml metrics file"), "foreign message");
    CHECK(tml_telemetry_open_shared(dir, 0) == TML_STATUS_STORE_CORRUPT, "a directory");
    snprintf(path, sizeof path, "%s/big.shm", dir);
    CHECK(tml_telemetry_open_shared(path, 1u << 20) == TML_STATUS_INVALID_ARGUMENT, "capacity too large");
    CHECK(tml_telemetry_open_shared("", 0) == TML_STATUS_INVALID_ARGUMENT, "empty path");
    /* Failed opens kept the installed file. */
    char *text = page(NULL);
    CHECK(sample(text, "tenantml_model_version_in_use{model=\"http-api\"}") == 12, "still the shared file");
    tml_string_free(text);

    /* A full table: existing series still count, new ones are refused and counted. */
    snprintf(path, sizeof path, "%s/small.shm", dir);
    CHECK(tml_telemetry_open_shared(path, 2) == TML_STATUS_OK, "small table");
    CHECK(tml_telemetry_record_prediction("a", "model", 1) == TML_STATUS_OK, "a");
    CHECK(tml_telemetry_record_prediction("b", "model", 1) == TML_STATUS_OK, "b");
    CHECK(tml_telemetry_record_prediction("c", "model", 1) == TML_STATUS_STORE_FULL, "full");
    CHECK(tml_telemetry_record_prediction("a", "model", 1) == TML_STATUS_OK, "a again");
    text = page(NULL);
    CHECK(sample(text, "tenantml_predictions_total{model=\"a\",outcome=\"model\"}") == 2, "a twice");
    CHECK(sample(text, "tenantml_telemetry_dropped_total") == 1, "one dropped");
    tml_string_free(text);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    test_in_process_default();
    test_drift_gauges();
    test_shared_across_processes(argv[1]);
    test_error_paths(argv[1]);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
