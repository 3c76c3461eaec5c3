/*
 * Drives tree models through the C ABI exactly as a C (or PHP FFI) caller would: fit from
 * C arrays, batch and single-row prediction, explanations (arrays and JSON), info and
 * metadata, bytes and files round trips, and the error paths (NULL pointers, empty data,
 * NaN targets, malformed or unknown parameters, garbage and truncated model bytes, wrong
 * row length). Frees everything, so valgrind reports no leak. Exits non-zero on a failure.
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

#define N_ROWS 300
#define N_FEATURES 3

static double x[N_ROWS * N_FEATURES];
static double y[N_ROWS];

static bool last_error_contains(const char *needle) {
    const char *msg = tml_last_error();
    return msg != NULL && strstr(msg, needle) != NULL;
}

/* y = 2 * x0 + x1; x2 is noise. A fixed linear congruential generator keeps it seeded. */
static void make_data(void) {
    uint32_t state = 12345;
    for (int i = 0; i < N_ROWS * N_FEATURES; i++) {
        state = state * 1664525u + 1013904223u;
        x[i] = (double)(state >> 8) / (double)(1u << 24) * 10.0;
    }
    for (int r = 0; r < N_ROWS; r++) {
        y[r] = 2.0 * x[r * N_FEATURES] + x[r * N_FEATURES + 1];
    }
}

static const char *PARAMS =
    "{\"gbdt\": {\"rounds\": 40, \"min_samples_leaf\": 5}, "
    "\"feature_names\": [\"load\", \"hour\", \"noise\"], \"seed\": 7}";

static TmlModel *fit_model(const char *params) {
    TmlModel *m = NULL;
    TmlStatus st = tml_model_fit(x, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 0, params, &m);
    CHECK(st == TML_STATUS_OK && m != NULL, "fit -> %d", st);
    return m;
}

static void test_fit_predict_explain(void) {
    TmlModel *m = fit_model(PARAMS);
    if (m == NULL) return;
    size_t n = 0;
    CHECK(tml_model_n_features(m, &n) == TML_STATUS_OK && n == N_FEATURES, "n_features %zu", n);

    double batch[N_ROWS];
    CHECK(tml_model_predict(m, x, N_ROWS, N_FEATURES, batch, N_ROWS) == TML_STATUS_OK, "predict batch");
    int equal = 0;
    double abs_err = 0.0;
    for (int r = 0; r < N_ROWS; r++) {
        double v = NAN;
        tml_model_predict_row(m, x + r * N_FEATURES, N_FEATURES, &v);
        equal += v == batch[r];
        abs_err += fabs(v - y[r]);
    }
    CHECK(equal == N_ROWS, "predict == predict_row for %d of %d rows", equal, N_ROWS);
    CHECK(abs_err / N_ROWS < 1.0, "training MAE %f", abs_err / N_ROWS);

    double missing[N_FEATURES] = { 5.0, NAN, 1.0 };
    double v = NAN;
    CHECK(tml_model_predict_row(m, missing, N_FEATURES, &v) == TML_STATUS_OK && isfinite(v), "NaN = missing -> %f", v);

    double row[N_FEATURES] = { 8.0, 3.0, 5.0 };
    double contributions[N_FEATURES], expected = NAN, prediction = NAN;
    CHECK(tml_model_explain(m, row, N_FEATURES, contributions, &expected) == TML_STATUS_OK, "explain");
    CHECK(tml_model_predict_row(m, row, N_FEATURES, &prediction) == TML_STATUS_OK, "predict row");
    double sum = expected;
    for (int j = 0; j < N_FEATURES; j++) sum += contributions[j];
    CHECK(fabs(sum - prediction) < 1e-9, "expected + contributions %f vs prediction %f", sum, prediction);
    CHECK(contributions[0] > contributions[2], "load matters more than noise (%f, %f)", contributions[0], contributions[2]);

    char *json = NULL;
    CHECK(tml_model_explain_json(m, row, N_FEATURES, 2, 0, &json) == TML_STATUS_OK, "explain json");
    CHECK(json && strstr(json, "\"reasons\":[{\"feature\":0,\"name\":\"load\""), "reasons: %s", json);
    CHECK(json && strstr(json, "\"expected_value\":"), "expected_value: %s", json);
    tml_string_free(json);
    json = NULL;
    CHECK(tml_model_explain_json(m, row, N_FEATURES, 2, 3, &json) == TML_STATUS_INVALID_ARGUMENT, "direction 3");
    CHECK(last_error_contains("direction must be 0 (increasing), 1 (decreasing) or 2 (both), got 3"), "direction message");
    CHECK(json == NULL, "no JSON on failure");

    CHECK(tml_model_info_json(m, &json) == TML_STATUS_OK, "info");
    CHECK(json && strstr(json, "\"task\":\"regression\"") && strstr(json, "\"kind\":\"gbdt\"")
          && strstr(json, "\"feature_names\":[\"load\",\"hour\",\"noise\"]"), "info: %s", json);
    tml_string_free(json);
    tml_model_free(m);
}

static void test_kinds(void) {
    TmlModel *m = fit_model("{\"model\": \"blend\", \"gbdt\": {\"rounds\": 20}, \"forest\": {\"trees\": 10}}");
    char *json = NULL;
    if (m != NULL) {
        CHECK(tml_model_info_json(m, &json) == TML_STATUS_OK && strstr(json, "\"kind\":\"blend\""), "blend: %s", json);
        tml_string_free(json);
        tml_model_free(m);
    }

    double labels[N_ROWS];
    for (int r = 0; r < N_ROWS; r++) labels[r] = x[r * N_FEATURES] + x[r * N_FEATURES + 1] > 10.0 ? 1.0 : 0.0;
    m = NULL;
    TmlStatus st = tml_model_fit(x, N_ROWS, N_FEATURES, labels, NULL, NULL, NULL, 0,
                                 "{\"task\": \"binary\", \"model\": \"forest\", \"forest\": {\"trees\": 10}}", &m);
    CHECK(st == TML_STATUS_OK, "binary forest -> %d", st);
    if (m != NULL) {
        double p[N_ROWS];
        CHECK(tml_model_predict(m, x, N_ROWS, N_FEATURES, p, N_ROWS) == TML_STATUS_OK, "predict");
        int in_range = 0;
        for (int r = 0; r < N_ROWS; r++) in_range += p[r] >= 0.0 && p[r] <= 1.0;
        CHECK(in_range == N_ROWS, "probabilities in [0, 1]: %d of %d", in_range, N_ROWS);
        tml_model_free(m);
    }
}

static void test_bytes_and_files(const char *dir) {
    TmlModel *m = fit_model(PARAMS);
    if (m == NULL) return;
    CHECK(tml_model_set_metadata_json(m, "{\"name\": \"usage\", \"version\": 2}") == TML_STATUS_OK, "metadata");
    CHECK(tml_model_set_metadata_json(m, "{\"owner\": \"ops\"}") == TML_STATUS_PARSE_ERROR, "unknown metadata field");
    CHECK(tml_model_set_metadata_json(m, NULL) == TML_STATUS_NULL_POINTER, "NULL metadata");

    TmlBytes bytes = { NULL, 0 };
    CHECK(tml_model_to_bytes(m, &bytes) == TML_STATUS_OK && bytes.data != NULL && bytes.len > 100, "to_bytes %zu", bytes.len);
    TmlModel *copy = NULL;
    CHECK(tml_model_from_bytes(bytes.data, bytes.len, &copy) == TML_STATUS_OK && copy != NULL, "from_bytes");
    double a[N_ROWS], b[N_ROWS];
    tml_model_predict(m, x, N_ROWS, N_FEATURES, a, N_ROWS);
    if (copy != NULL) {
        tml_model_predict(copy, x, N_ROWS, N_FEATURES, b, N_ROWS);
        CHECK(memcmp(a, b, sizeof a) == 0, "identical predictions after the bytes round trip");
        char *json = NULL;
        CHECK(tml_model_info_json(copy, &json) == TML_STATUS_OK && strstr(json, "\"name\":\"usage\",\"version\":2"), "metadata kept: %s", json);
        tml_string_free(json);
        tml_model_free(copy);
    }

    copy = NULL;
    CHECK(tml_model_from_bytes(bytes.data, 100, &copy) == TML_STATUS_BAD_MODEL_FILE, "truncated bytes");
    CHECK(last_error_contains("truncated"), "truncated message");
    CHECK(copy == NULL, "no handle on failure");
    bytes.data[bytes.len / 2] ^= 1;
    CHECK(tml_model_from_bytes(bytes.data, bytes.len, &copy) == TML_STATUS_BAD_MODEL_FILE, "corrupted bytes");
    CHECK(last_error_contains("checksum"), "checksum message");
    static const uint8_t garbage[] = "this is not a model file, just some text";
    CHECK(tml_model_from_bytes(garbage, sizeof garbage, &copy) == TML_STATUS_BAD_MODEL_FILE, "garbage bytes");
    CHECK(tml_model_from_bytes(NULL, 0, &copy) == TML_STATUS_BAD_MODEL_FILE, "no bytes");
    CHECK(tml_model_from_bytes(NULL, 10, &copy) == TML_STATUS_NULL_POINTER, "NULL data");
    CHECK(tml_model_from_bytes(garbage, sizeof garbage, NULL) == TML_STATUS_NULL_POINTER, "NULL out_model");
    tml_bytes_free(bytes.data, bytes.len);

    char path[512];
    snprintf(path, sizeof path, "%s/usage.tml", dir);
    CHECK(tml_model_save(m, path) == TML_STATUS_OK, "save");
    TmlModel *loaded = NULL;
    CHECK(tml_model_load(path, &loaded) == TML_STATUS_OK && loaded != NULL, "load");
    if (loaded != NULL) {
        tml_model_predict(loaded, x, N_ROWS, N_FEATURES, b, N_ROWS);
        CHECK(memcmp(a, b, sizeof a) == 0, "identical predictions after save/load");
        tml_model_free(loaded);
    }
    snprintf(path, sizeof path, "%s/missing.tml", dir);
    loaded = NULL;
    CHECK(tml_model_load(path, &loaded) == TML_STATUS_IO, "missing file");
    CHECK(last_error_contains("No such file or directory"), "missing file message");
    snprintf(path, sizeof path, "%s/no-such-dir/usage.tml", dir);
    CHECK(tml_model_save(m, path) == TML_STATUS_IO, "save into a missing directory");
    CHECK(tml_model_save(m, NULL) == TML_STATUS_NULL_POINTER, "NULL path");
    tml_model_free(m);
}

static void test_error_paths(void) {
    TmlModel *m = NULL;
    CHECK(tml_model_fit(NULL, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 0, NULL, &m) == TML_STATUS_NULL_POINTER, "NULL x");
    CHECK(last_error_contains("null pointer: x"), "names x");
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, NULL, NULL, NULL, NULL, 0, NULL, &m) == TML_STATUS_NULL_POINTER, "NULL y");
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 0, NULL, NULL) == TML_STATUS_NULL_POINTER, "NULL out_model");
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 5, NULL, &m) == TML_STATUS_NULL_POINTER, "NULL valid_x with n_valid 5");
    TmlStatus st = tml_model_fit(x, 0, N_FEATURES, y, NULL, NULL, NULL, 0, NULL, &m);
    CHECK(st == TML_STATUS_INVALID_ARGUMENT, "0 rows -> %d", st);
    CHECK(m == NULL, "no handle on failure");

    double bad_y[N_ROWS];
    memcpy(bad_y, y, sizeof bad_y);
    bad_y[17] = NAN;
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, bad_y, NULL, NULL, NULL, 0, NULL, &m) == TML_STATUS_INVALID_ARGUMENT, "NaN target");
    CHECK(last_error_contains("target 17 must be a finite number"), "NaN target message");
    bad_y[17] = INFINITY;
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, bad_y, NULL, NULL, NULL, 0, NULL, &m) == TML_STATUS_INVALID_ARGUMENT, "infinite target");

    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 0, "{not json", &m) == TML_STATUS_PARSE_ERROR, "malformed JSON");
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 0, "{\"learning_rate\": 0.1}", &m) == TML_STATUS_PARSE_ERROR, "unknown field");
    CHECK(last_error_contains("unknown field `learning_rate`"), "unknown field message");
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 0, "{\"task\": \"multiclass\"}", &m) == TML_STATUS_PARSE_ERROR, "unknown task");
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 0, "{\"gbdt\": {\"rounds\": 0}}", &m) == TML_STATUS_INVALID_ARGUMENT, "zero rounds");
    CHECK(last_error_contains("rounds must be at least 1, got 0"), "zero rounds message");
    CHECK(tml_model_fit(x, N_ROWS, N_FEATURES, y, NULL, NULL, NULL, 0, "{\"feature_names\": [\"a\"]}", &m) == TML_STATUS_INVALID_ARGUMENT, "names count");
    CHECK(m == NULL, "still no handle");

    m = fit_model("{\"gbdt\": {\"rounds\": 5}}");
    if (m == NULL) return;
    double row[4] = { 1.0, 2.0, 3.0, 4.0 }, v = 0.0, out[2], c[4], e;
    CHECK(tml_model_predict_row(m, row, 4, &v) == TML_STATUS_INVALID_ARGUMENT, "4 features for 3");
    CHECK(last_error_contains("row has 4 features, the model 3"), "row length message");
    CHECK(tml_model_predict(m, row, 2, 2, out, 2) == TML_STATUS_INVALID_ARGUMENT, "batch of 2 features");
    CHECK(tml_model_predict(m, x, 2, N_FEATURES, out, 1) == TML_STATUS_INVALID_ARGUMENT, "out_len != n_rows");
    CHECK(tml_model_predict(m, x, 2, N_FEATURES, NULL, 2) == TML_STATUS_NULL_POINTER, "NULL out_values");
    CHECK(tml_model_predict(m, NULL, 2, N_FEATURES, out, 2) == TML_STATUS_NULL_POINTER, "NULL batch x");
    CHECK(tml_model_predict(m, NULL, 0, N_FEATURES, NULL, 0) == TML_STATUS_OK, "empty batch");
    CHECK(tml_model_predict_row(m, NULL, N_FEATURES, &v) == TML_STATUS_NULL_POINTER, "NULL row");
    CHECK(tml_model_predict_row(m, row, N_FEATURES, NULL) == TML_STATUS_NULL_POINTER, "NULL out_value");
    CHECK(tml_model_predict_row(NULL, row, N_FEATURES, &v) == TML_STATUS_NULL_POINTER, "NULL model");
    CHECK(last_error_contains("null pointer: model"), "names model");
    CHECK(tml_model_explain(m, row, 4, c, &e) == TML_STATUS_INVALID_ARGUMENT, "explain 4 features for 3");
    CHECK(tml_model_explain(m, row, N_FEATURES, NULL, &e) == TML_STATUS_NULL_POINTER, "NULL out_contributions");
    CHECK(tml_model_explain(m, row, N_FEATURES, c, NULL) == TML_STATUS_NULL_POINTER, "NULL out_expected");
    CHECK(tml_model_explain_json(m, row, N_FEATURES, 3, 0, NULL) == TML_STATUS_NULL_POINTER, "NULL out_json");
    CHECK(tml_model_info_json(m, NULL) == TML_STATUS_NULL_POINTER, "NULL info out_json");
    CHECK(tml_model_to_bytes(m, NULL) == TML_STATUS_NULL_POINTER, "NULL out_bytes");
    CHECK(tml_model_to_bytes(NULL, NULL) == TML_STATUS_NULL_POINTER, "NULL model to_bytes");
    size_t n;
    CHECK(tml_model_n_features(NULL, &n) == TML_STATUS_NULL_POINTER, "NULL model n_features");
    tml_model_free(m);

    tml_model_free(NULL);
    tml_bytes_free(NULL, 0);
    tml_string_free(NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    make_data();
    test_fit_predict_explain();
    test_kinds();
    test_bytes_and_files(argv[1]);
    test_error_paths();
    printf("model_test: %d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
