/*
 * Drives drift detection through the C ABI as a C (or PHP FFI) caller would: batch reports
 * from two matrices checked against scipy (ks_2samp, chi2_contingency), a bounded reference
 * built from a matrix and reports against its JSON, the reference a model file carries
 * (stored through tml_model_set_metadata_json) with feature and prediction drift, a
 * Page-Hinkley and an ADWIN detector whose JSON state is restored mid-stream, the stateless
 * retraining policy, and the error paths (NULL pointers, NaN-only columns, mismatched
 * sizes, malformed JSON, foreign bytes, NaN stream values). Frees everything, so valgrind
 * reports no leak. Exits non-zero on a failure.
 */
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The number after the n-th (0-based) "key": in a JSON text (NAN when absent). */
static double json_number_at(const char *json, const char *key, int nth) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = json;
    for (int i = 0; at != NULL && i <= nth; i++) {
        at = strstr(i == 0 ? at : at + 1, pattern);
    }
    return at ? strtod(at + strlen(pattern), NULL) : NAN;
}

static double json_number(const char *json, const char *key) {
    return json_number_at(json, key, 0);
}

static bool close_to(double a, double b, double rel) {
    return fabs(a - b) <= rel * fabs(b);
}

/* scipy.stats.ks_2samp([1..5], [6..10]): D = 1, exact p = 2 / C(10, 5) = 0.007936507936507936. */
static void test_ks_fixture(void) {
    double ref[5] = {1, 2, 3, 4, 5}, cur[5] = {6, 7, 8, 9, 10};
    char *json = NULL;
    TmlStatus st = tml_drift_report_json(ref, 5, cur, 5, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, NULL, &json);
    CHECK(st == TML_STATUS_OK && json != NULL, "ks report -> %d", st);
    if (json != NULL) {
        CHECK(strstr(json, "\"name\":\"x0\"") != NULL, "default name x0: %s", json);
        CHECK(json_number(json, "statistic") == 1.0, "D = 1: %s", json);
        CHECK(close_to(json_number(json, "p_value"), 0.007936507936507936, 1e-12), "p: %s", json);
        CHECK(strstr(json, "\"ks_method\":\"exact\"") != NULL, "exact method: %s", json);
        CHECK(strstr(json, "\"dataset_drift\":true") != NULL, "dataset drift: %s", json);
        tml_string_free(json);
    }
    /* scipy.stats.ks_2samp([1..8], [3.5, 4.5, ..., 9.5]): D = 0.375, p = 0.5076923076923078. */
    double a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[7] = {3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5};
    json = NULL;
    st = tml_drift_report_json(a, 8, b, 7, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"names\": [\"latency\"]}", NULL, &json);
    CHECK(st == TML_STATUS_OK, "ks report 8 vs 7 -> %d", st);
    if (json != NULL) {
        CHECK(json_number(json, "statistic") == 0.375, "D: %s", json);
        CHECK(close_to(json_number(json, "p_value"), 0.5076923076923078, 1e-12), "p: %s", json);
        CHECK(strstr(json, "\"drifted\":false") != NULL, "not drifted: %s", json);
        tml_string_free(json);
    }
}

/* scipy.stats.chi2_contingency([[10, 20, 30], [30, 20, 10]]): chi2 = 20, p = 4.539992976248486e-05. */
static void test_chi2_fixture(void) {
    double ref[60], cur[60];
    for (int i = 0; i < 60; i++) {
        ref[i] = i < 10 ? 0 : (i < 30 ? 1 : 2);
        cur[i] = i < 30 ? 0 : (i < 50 ? 1 : 2);
    }
    char *json = NULL;
    TmlStatus st = tml_drift_report_json(ref, 60, cur, 60, 1, TML_MATRIX_LAYOUT_ROW_MAJOR,
                                         "{\"names\": [\"plan\"], \"categorical\": [0]}", NULL, &json);
    CHECK(st == TML_STATUS_OK, "chi2 report -> %d", st);
    if (json != NULL) {
        CHECK(strstr(json, "\"test\":\"chi2\"") != NULL && strstr(json, "\"kind\":\"categorical\"") != NULL,
              "chi2 on a categorical: %s", json);
        CHECK(close_to(json_number(json, "statistic"), 20.0, 1e-12), "chi2: %s", json);
        CHECK(close_to(json_number(json, "p_value"), 4.539992976248486e-05, 1e-9), "p: %s", json);
        tml_string_free(json);
    }
}

/* Two features, the second shifted: reference JSON built once, then reports against it. */
static void test_reference(void) {
    enum { ROWS = 400 };
    static double ref[ROWS * 2], cur[ROWS * 2];
    for (int i = 0; i < ROWS; i++) {
        ref[2 * i] = (i * 7) % 100;
        ref[2 * i + 1] = (i * 13) % 100;
        cur[2 * i] = (i * 7 + 3) % 100;
        cur[2 * i + 1] = (i * 13) % 100 + 30.0;
    }
    cur[0] = NAN; /* a missing value is dropped and counted */
    char *reference = NULL, *json = NULL;
    TmlStatus st = tml_drift_reference_build_json(ref, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"names\": [\"stable\", \"shifted\"]}", 50,
                                                  &reference);
    CHECK(st == TML_STATUS_OK && reference != NULL, "build reference -> %d", st);
    if (reference == NULL) {
        return;
    }
    CHECK(json_number(reference, "max_per_feature") == 50, "bound kept: %.80s", reference);
    CHECK(tml_drift_reference_info_json(reference, &json) == TML_STATUS_OK, "info");
    if (json != NULL) {
        CHECK(strstr(json, "{\"kind\":\"numeric\",\"name\":\"stable\"}") != NULL
                  && strstr(json, "\"predictions\":false") != NULL, "info: %s", json);
        tml_string_free(json);
        json = NULL;
    }
    st = tml_drift_reference_report_json(reference, cur, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"numeric_test\": \"psi\"}", &json);
    CHECK(st == TML_STATUS_OK, "report vs reference -> %d", st);
    if (json != NULL) {
        CHECK(json_number(json, "n_drifted") == 1, "one drifted: %s", json);
        CHECK(json_number_at(json, "missing_current", 0) == 1, "NaN counted: %s", json);
        CHECK(json_number_at(json, "n_reference", 0) == 50, "bounded reference: %s", json);
        CHECK(strstr(json, "\"test\":\"psi\"") != NULL, "psi: %s", json);
        tml_string_free(json);
        json = NULL;
    }

    /* Errors: wrong feature count, NaN-only column, unknown config field, no predictions. */
    char *none = NULL;
    CHECK(tml_drift_reference_report_json(reference, cur, ROWS / 2, 4, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("4 feature columns") && none == NULL, "mismatched feature count");
    double nan_only[6] = {NAN, 1, NAN, 2, NAN, 3};
    CHECK(tml_drift_reference_report_json(reference, nan_only, 3, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("'stable': the current sample has no finite values"), "NaN-only column");
    CHECK(tml_drift_reference_report_json(reference, cur, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"alpha\": 0.01}", &none)
              == TML_STATUS_PARSE_ERROR, "unknown config field");
    CHECK(tml_drift_reference_report_json(reference, cur, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"p_value_threshold\": 2}", &none)
              == TML_STATUS_INVALID_ARGUMENT, "threshold out of range");
    double recent[3] = {0.1, 0.2, 0.3};
    CHECK(tml_drift_prediction_drift_json(reference, recent, 3, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("no reference predictions"), "no stored predictions");
    CHECK(tml_drift_reference_report_json(reference, NULL, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, &none) == TML_STATUS_NULL_POINTER,
          "NULL current");
    CHECK(tml_drift_reference_report_json(reference, cur, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, NULL) == TML_STATUS_NULL_POINTER,
          "NULL out_json");
    CHECK(none == NULL, "nothing written on failure");

    /* A corrupted reference: truncated, and with unsorted values. */
    size_t len = strlen(reference);
    reference[len / 2] = '\0';
    CHECK(tml_drift_reference_report_json(reference, cur, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, &none) == TML_STATUS_PARSE_ERROR,
          "truncated reference");
    tml_string_free(reference);
    const char *unsorted = "{\"max_per_feature\": 10, \"features\": [{\"name\": \"a\", \"column\": "
                           "{\"kind\": \"numeric\", \"values\": [3, 1], \"count\": 2, \"missing\": 0}}]}";
    CHECK(tml_drift_reference_info_json(unsorted, &none) == TML_STATUS_PARSE_ERROR
              && last_error_contains("sorted"), "unsorted reference");
    CHECK(tml_drift_reference_info_json(NULL, &none) == TML_STATUS_NULL_POINTER, "NULL reference");
}

/* A model file carrying a drift reference (features + predictions) in its metadata. */
static void test_model_reference(const char *scratch) {
    (void)scratch;
    enum { ROWS = 200 };
    static double x[ROWS * 2], y[ROWS], shifted[ROWS * 2];
    for (int i = 0; i < ROWS; i++) {
        x[2 * i] = i % 50;
        x[2 * i + 1] = (i * 3) % 40;
        y[i] = x[2 * i] + 0.5 * x[2 * i + 1];
        shifted[2 * i] = x[2 * i] + 40;
        shifted[2 * i + 1] = x[2 * i + 1];
    }
    TmlModel *m = NULL;
    TmlStatus st = tml_model_fit(x, ROWS, 2, y, NULL, NULL, NULL, 0, "{\"gbdt\": {\"rounds\": 5}}", &m);
    CHECK(st == TML_STATUS_OK, "fit -> %d", st);
    if (m == NULL) {
        return;
    }
    TmlBytes plain = {NULL, 0};
    CHECK(tml_model_to_bytes(m, &plain) == TML_STATUS_OK, "plain bytes");
    char *none = NULL;
    /* Fitting stored the training features and predictions. */
    CHECK(tml_drift_model_reference_json(plain.data, plain.len, &none) == TML_STATUS_OK && none
              && strstr(none, "\"predictions\":{"), "a fitted model stores its reference");
    tml_string_free(none);
    none = NULL;
    /* A rules-only model has no training data, so no reference. */
    TmlChurnPredictor *rules = NULL;
    TmlBytes rules_bytes = {NULL, 0};
    CHECK(tml_churn_rules_only(NULL, &rules) == TML_STATUS_OK
              && tml_churn_to_bytes(rules, &rules_bytes) == TML_STATUS_OK, "rules-only bytes");
    CHECK(tml_drift_model_reference_json(rules_bytes.data, rules_bytes.len, &none)
                  == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("stores no drift reference"), "model without a reference");
    tml_bytes_free(rules_bytes.data, rules_bytes.len);
    tml_churn_free(rules);
    CHECK(tml_drift_model_reference_json(plain.data, plain.len / 2, &none) == TML_STATUS_BAD_MODEL_FILE,
          "truncated model file");
    CHECK(tml_drift_model_reference_json((const uint8_t *)"hello", 5, &none) == TML_STATUS_BAD_MODEL_FILE,
          "foreign bytes");
    CHECK(tml_drift_model_reference_json(NULL, 10, &none) == TML_STATUS_NULL_POINTER, "NULL bytes");
    tml_bytes_free(plain.data, plain.len);

    /* Store {"features": <reference>, "predictions": <column>} under extra.drift_reference. */
    char *features = NULL;
    CHECK(tml_drift_reference_build_json(x, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"names\": [\"a\", \"b\"]}", 0, &features) == TML_STATUS_OK,
          "features reference");
    if (features == NULL) {
        tml_model_free(m);
        return;
    }
    size_t cap = strlen(features) + 512;
    char *meta = malloc(cap);
    snprintf(meta, cap,
             "{\"extra\": {\"drift_reference\": {\"features\": %s, \"predictions\": {\"kind\": \"numeric\", "
             "\"values\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], \"count\": 10, \"missing\": 0}}}}",
             features);
    tml_string_free(features);
    CHECK(tml_model_set_metadata_json(m, meta) == TML_STATUS_OK, "store the reference");
    free(meta);
    TmlBytes bytes = {NULL, 0};
    CHECK(tml_model_to_bytes(m, &bytes) == TML_STATUS_OK, "bytes with a reference");
    tml_model_free(m);

    char *json = NULL;
    CHECK(tml_drift_model_reference_json(bytes.data, bytes.len, &json) == TML_STATUS_OK, "read the reference");
    if (json != NULL) {
        CHECK(strstr(json, "\"predictions\":{\"kind\":\"numeric\"") != NULL, "predictions kept: %.200s", json);
        char *info = NULL;
        CHECK(tml_drift_reference_info_json(json, &info) == TML_STATUS_OK && strstr(info, "\"predictions\":true"),
              "info of a model reference");
        tml_string_free(info);
        double same[5] = {0, 2, 4, 6, 8}, high[5] = {20, 21, 22, 23, 24};
        char *verdict = NULL;
        CHECK(tml_drift_prediction_drift_json(json, same, 5, NULL, &verdict) == TML_STATUS_OK
                  && strstr(verdict, "\"name\":\"prediction\"") && strstr(verdict, "\"drifted\":false"),
              "same predictions: %s", verdict ? verdict : "");
        tml_string_free(verdict);
        verdict = NULL;
        CHECK(tml_drift_model_prediction_drift_json(bytes.data, bytes.len, high, 5, NULL, &verdict) == TML_STATUS_OK
                  && strstr(verdict, "\"drifted\":true"), "shifted predictions: %s", verdict ? verdict : "");
        tml_string_free(verdict);
        tml_string_free(json);
    }
    json = NULL;
    CHECK(tml_drift_model_report_json(bytes.data, bytes.len, shifted, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, &json) == TML_STATUS_OK,
          "model report");
    if (json != NULL) {
        CHECK(strstr(json, "\"name\":\"a\"") && json_number(json, "n_drifted") == 1, "a drifted: %.300s", json);
        tml_string_free(json);
    }
    CHECK(tml_drift_model_report_json(bytes.data, bytes.len, shifted, ROWS * 2, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, &none)
              == TML_STATUS_INVALID_ARGUMENT, "model report with 1 feature");
    bytes.data[bytes.len - 3] ^= 0x55; /* the checksum catches a flipped byte */
    CHECK(tml_drift_model_report_json(bytes.data, bytes.len, shifted, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, &none)
              == TML_STATUS_BAD_MODEL_FILE, "corrupted model file");
    tml_bytes_free(bytes.data, bytes.len);
}

static void test_streaming(void) {
    enum { N = 600, CUT = 250 };
    static double stream[N];
    for (int i = 0; i < N; i++) {
        stream[i] = (i < 300 ? 0.1 : 1.5) + 0.05 * (i % 3);
    }
    const char *kinds[2] = {"page_hinkley", "adwin"};
    const char *params[2] = {"{\"threshold\": 20}", NULL};
    for (int k = 0; k < 2; k++) {
        /* One detector sees the whole stream; another is persisted at CUT and restored. */
        TmlDriftDetector *whole = NULL, *part = NULL, *restored = NULL;
        CHECK(tml_drift_detector_new(kinds[k], params[k], &whole) == TML_STATUS_OK, "%s new", kinds[k]);
        CHECK(tml_drift_detector_new(kinds[k], params[k], &part) == TML_STATUS_OK, "%s new", kinds[k]);
        int64_t first = -2, first_part = -2, first_rest = -2;
        size_t detections = 0, d_part = 0, d_rest = 0;
        CHECK(tml_drift_detector_update_many(whole, stream, N, &first, &detections) == TML_STATUS_OK,
              "%s update_many", kinds[k]);
        CHECK(first >= 300, "%s detects after the change: %lld", kinds[k], (long long)first);
        CHECK(tml_drift_detector_update_many(part, stream, CUT, &first_part, &d_part) == TML_STATUS_OK
                  && first_part == -1 && d_part == 0, "%s quiet before the change", kinds[k]);
        char *state = NULL;
        CHECK(tml_drift_detector_state_json(part, &state) == TML_STATUS_OK, "%s state", kinds[k]);
        tml_drift_detector_free(part);
        if (state != NULL) {
            CHECK(strstr(state, kinds[k]) != NULL, "kind in state: %.60s", state);
            CHECK(tml_drift_detector_from_json(state, &restored) == TML_STATUS_OK, "%s restore", kinds[k]);
            tml_string_free(state);
        }
        if (restored != NULL) {
            bool hit = true;
            CHECK(tml_drift_detector_update(restored, stream[CUT], &hit) == TML_STATUS_OK && !hit, "one update");
            CHECK(tml_drift_detector_update_many(restored, stream + CUT + 1, N - CUT - 1, &first_rest, &d_rest)
                      == TML_STATUS_OK, "%s rest", kinds[k]);
            CHECK(first_rest + CUT + 1 == first && d_rest == detections,
                  "%s restored detector agrees: %lld vs %lld", kinds[k], (long long)(first_rest + CUT + 1),
                  (long long)first);
            /* NaN is refused and changes nothing. */
            CHECK(tml_drift_detector_update(restored, NAN, &hit) == TML_STATUS_INVALID_ARGUMENT
                      && last_error_contains("finite"), "NaN update");
            double with_nan[3] = {0.1, INFINITY, 0.2};
            CHECK(tml_drift_detector_update_many(restored, with_nan, 3, &first_rest, NULL)
                      == TML_STATUS_INVALID_ARGUMENT && last_error_contains("value 1"), "inf in a batch");
            CHECK(tml_drift_detector_update_many(restored, NULL, 0, &first_rest, NULL) == TML_STATUS_OK
                      && first_rest == -1, "empty batch");
            tml_drift_detector_free(restored);
        }
        tml_drift_detector_free(whole);
    }

    TmlDriftDetector *none = NULL;
    CHECK(tml_drift_detector_new("cusum", NULL, &none) == TML_STATUS_INVALID_ARGUMENT && none == NULL
              && last_error_contains("page_hinkley or adwin"), "unknown kind");
    CHECK(tml_drift_detector_new("adwin", "{\"delta\": 2}", &none) == TML_STATUS_INVALID_ARGUMENT, "adwin delta");
    CHECK(tml_drift_detector_new("page_hinkley", "{\"lambda\": 2}", &none) == TML_STATUS_PARSE_ERROR,
          "unknown param");
    CHECK(tml_drift_detector_new("adwin", "[]", &none) == TML_STATUS_PARSE_ERROR
              && last_error_contains("must be a JSON object"), "params as an array");
    CHECK(tml_drift_detector_new(NULL, NULL, &none) == TML_STATUS_NULL_POINTER, "NULL kind");
    CHECK(tml_drift_detector_new("adwin", NULL, NULL) == TML_STATUS_NULL_POINTER, "NULL out");
    CHECK(tml_drift_detector_from_json("{\"kind\": \"adwin\", \"state\": {}}", &none) == TML_STATUS_PARSE_ERROR,
          "incomplete state");
    CHECK(tml_drift_detector_from_json("not json", &none) == TML_STATUS_PARSE_ERROR, "malformed state");
    bool hit;
    int64_t first;
    CHECK(tml_drift_detector_update(NULL, 1.0, &hit) == TML_STATUS_NULL_POINTER, "NULL detector");
    CHECK(tml_drift_detector_update_many(NULL, NULL, 0, &first, NULL) == TML_STATUS_NULL_POINTER, "NULL detector");
    char *json;
    CHECK(tml_drift_detector_state_json(NULL, &json) == TML_STATUS_NULL_POINTER, "NULL detector state");
    tml_drift_detector_free(NULL);
}

static void test_policy(void) {
    const char *policy = "{\"consecutive_drift_reports\": 2, \"max_model_age_secs\": null}";
    const char *drift = "{\"now\": 1700000000, \"model_trained_at\": 1699000000, \"dataset_drift\": true}";
    char *first = NULL, *second = NULL;
    CHECK(tml_drift_policy_decide_json(policy, NULL, drift, &first) == TML_STATUS_OK, "first decision");
    if (first == NULL) {
        return;
    }
    CHECK(strstr(first, "\"retrain\":false") != NULL && json_number(first, "consecutive_drift") == 1,
          "not yet: %s", first);
    /* Pass the returned state back: the caller keeps it between requests. */
    const char *state = strstr(first, "\"state\":");
    char buf[2048];
    snprintf(buf, sizeof buf, "%.*s", (int)(strlen(state + 8) - 1), state + 8);
    CHECK(tml_drift_policy_decide_json(policy, buf, drift, &second) == TML_STATUS_OK, "second decision");
    if (second != NULL) {
        CHECK(strstr(second, "\"retrain\":true") && strstr(second, "\"trigger\":\"consecutive_drift\""),
              "retrain: %s", second);
        tml_string_free(second);
    }
    tml_string_free(first);

    char *none = NULL;
    CHECK(tml_drift_policy_decide_json(NULL, "", "{\"now\": 1, \"model_trained_at\": 5}", &none)
              == TML_STATUS_INVALID_ARGUMENT && last_error_contains("before the model"), "clock before training");
    CHECK(tml_drift_policy_decide_json("{\"cooldown\": 1}", NULL, drift, &none) == TML_STATUS_PARSE_ERROR
              && last_error_contains("retrain policy"), "unknown policy field");
    CHECK(tml_drift_policy_decide_json(NULL, "{\"consecutive_drift\": -1}", drift, &none) == TML_STATUS_PARSE_ERROR
              && last_error_contains("policy state"), "bad state");
    CHECK(tml_drift_policy_decide_json("[]", NULL, drift, &none) == TML_STATUS_PARSE_ERROR
              && last_error_contains("retrain policy must be a JSON object"), "policy as an array");
    CHECK(tml_drift_policy_decide_json(NULL, NULL, "{\"now\": 1}", &none) == TML_STATUS_PARSE_ERROR, "bad input");
    CHECK(tml_drift_policy_decide_json(NULL, NULL, NULL, &none) == TML_STATUS_NULL_POINTER, "NULL input");
    CHECK(none == NULL, "nothing written on failure");
}

static void test_batch_errors(void) {
    double a[4] = {1, 2, 3, 4}, nan_col[4] = {NAN, NAN, NAN, NAN};
    char *none = NULL;
    CHECK(tml_drift_report_json(a, 4, nan_col, 4, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("'x0': the current sample has no finite values"), "NaN-only current");
    CHECK(tml_drift_report_json(nan_col, 4, a, 4, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("reference sample has no finite values"), "NaN-only reference");
    CHECK(tml_drift_report_json(a, 0, a, 4, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("no rows"), "empty reference");
    CHECK(tml_drift_report_json(a, 2, a, 2, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"names\": [\"a\"]}", NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("names 1 features"), "schema/matrix mismatch");
    CHECK(tml_drift_report_json(a, 2, a, 2, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"categorical\": [5]}", NULL, &none) == TML_STATUS_INVALID_ARGUMENT,
          "categorical index out of range");
    CHECK(tml_drift_report_json(a, 2, a, 2, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"names\": [\"a\", \"a\"]}", NULL, &none)
              == TML_STATUS_INVALID_ARGUMENT && last_error_contains("twice"), "duplicate names");
    CHECK(tml_drift_report_json(a, 4, a, 4, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, "{\"names\": ", NULL, &none) == TML_STATUS_PARSE_ERROR && none == NULL,
          "malformed schema");
    CHECK(tml_drift_report_json(a, 4, a, 4, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, "[]", &none) == TML_STATUS_PARSE_ERROR, "config not an object");
    CHECK(tml_drift_report_json(a, 4, a, 4, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, "{\"feature_tests\": {\"nope\": \"psi\"}}", &none)
              == TML_STATUS_INVALID_ARGUMENT && last_error_contains("nope"), "override of no feature");
    CHECK(tml_drift_report_json(NULL, 4, a, 4, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, NULL, &none) == TML_STATUS_NULL_POINTER
              && last_error_contains("reference"), "NULL reference");
    CHECK(tml_drift_report_json(a, SIZE_MAX, a, 4, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("overflows"), "size overflow");
    CHECK(tml_drift_reference_build_json(a, 4, 1, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, 1, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("at least 2"), "bound below 2");
    CHECK(none == NULL, "nothing written on failure");
}

/* The same data row-major and column-major gives the same report; other layouts are refused. */
static void test_layouts(void) {
    enum { ROWS = 40 };
    double ref_rows[ROWS * 2], cur_rows[ROWS * 2], ref_cols[ROWS * 2], cur_cols[ROWS * 2];
    for (int i = 0; i < ROWS; i++) {
        ref_rows[2 * i] = ref_cols[i] = i % 9;
        ref_rows[2 * i + 1] = ref_cols[ROWS + i] = (i * 7) % 11;
        cur_rows[2 * i] = cur_cols[i] = i % 9 + 3;
        cur_rows[2 * i + 1] = cur_cols[ROWS + i] = (i * 5) % 11;
    }
    char *by_rows = NULL, *by_cols = NULL, *none = NULL;
    CHECK(tml_drift_report_json(ref_rows, ROWS, cur_rows, ROWS, 2, TML_MATRIX_LAYOUT_ROW_MAJOR, NULL, NULL, &by_rows)
              == TML_STATUS_OK, "row-major");
    CHECK(tml_drift_report_json(ref_cols, ROWS, cur_cols, ROWS, 2, TML_MATRIX_LAYOUT_COLUMN_MAJOR, NULL, NULL,
                                &by_cols) == TML_STATUS_OK, "column-major");
    CHECK(by_rows && by_cols && strcmp(by_rows, by_cols) == 0, "same report: %s vs %s", by_rows, by_cols);
    CHECK(by_rows && json_number(by_rows, "n_drifted") == 1, "x0 drifted: %s", by_rows);
    tml_string_free(by_rows);
    tml_string_free(by_cols);
    CHECK(tml_drift_report_json(ref_rows, ROWS, cur_rows, ROWS, 2, 7, NULL, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("layout must be 0"), "unknown layout");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    test_ks_fixture();
    test_chi2_fixture();
    test_layouts();
    test_reference();
    test_model_reference(argv[1]);
    test_streaming();
    test_policy();
    test_batch_errors();
    printf("drift_test: %d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
