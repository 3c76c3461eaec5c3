/*
 * Drives churn prediction through the C ABI as a C (or PHP FFI) caller would: a cold-start
 * predictor from synthetic tenants, a fit on labelled tenants built here, the rules-only
 * fallback, scores with reasons as JSON, the flat feature-row hot path against the JSON
 * path, batches, retention triggers with the cool-down state passed back in, info and
 * metadata, bytes and file round trips, and the error paths (NULL pointers, malformed JSON,
 * unknown fields, wrong lengths, infinities, truncated bytes). Frees everything, so
 * valgrind reports no leak. Exits non-zero on a failure.
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

#define DAY 86400
#define START 1736121600 /* 2025-01-06T00:00:00Z, the generator's default start */
#define AS_OF (START + 180 * DAY)

/* Small synthetic world and model: fast, also under valgrind. */
static const char *SETTINGS = "{\"tenants\": 300, \"days\": 200}";
static const char *QUICK =
    "{\"name\": \"churn-c\", \"version\": 2, \"model\": {\"task\": \"binary\", "
    "\"calibration\": \"platt\", \"gbdt\": {\"rounds\": 40, \"min_samples_leaf\": 5}}}";

static bool last_error_contains(const char *needle) {
    const char *msg = tml_last_error();
    return msg != NULL && strstr(msg, needle) != NULL;
}

static char fading[4096], active[4096];

/* A tenant with an event every `every` days from 90 days back until `quiet` days ago. */
static void tenant_json(char *buf, size_t cap, const char *id, int every, int quiet, int failed) {
    size_t n = (size_t)snprintf(buf, cap, "{\"id\": \"%s\", \"events\": [", id);
    const char *sep = "";
    for (int d = 90; d >= quiet; d -= every) {
        n += (size_t)snprintf(buf + n, cap - n, "%s{\"at\": %lld, \"amount\": 10}", sep,
                              (long long)AS_OF - (long long)d * DAY);
        sep = ", ";
    }
    n += (size_t)snprintf(buf + n, cap - n,
                          "], \"subscription\": {\"plan\": \"pro\", \"started_at\": %lld, "
                          "\"seats\": 12, \"monthly_price\": 360}, \"failed_payments\": [",
                          (long long)AS_OF - 400LL * DAY);
    if (failed) {
        n += (size_t)snprintf(buf + n, cap - n, "%lld", (long long)AS_OF - 5LL * DAY);
    }
    snprintf(buf + n, cap - n, "], \"tickets\": []}");
}

/* The number after "key": in a JSON text (NAN when absent). */
static double json_number(const char *json, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = json ? strstr(json, pattern) : NULL;
    return at ? strtod(at + strlen(pattern), NULL) : NAN;
}

static int count(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = haystack; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

static TmlChurnPredictor *cold_start(void) {
    TmlChurnPredictor *p = NULL;
    TmlStatus st = tml_churn_cold_start(SETTINGS, QUICK, 7, &p);
    CHECK(st == TML_STATUS_OK && p != NULL, "cold start -> %d", st);
    return p;
}

static void test_predict(TmlChurnPredictor *p) {
    char *json = NULL;
    TmlStatus st = tml_churn_predict_json(p, fading, AS_OF, 3, &json);
    CHECK(st == TML_STATUS_OK && json, "predict -> %d", st);
    CHECK(strstr(json, "\"regime\":\"cold_start\"") && strstr(json, "\"model_name\":\"churn-c\"")
              && strstr(json, "\"model_version\":2") && strstr(json, "\"horizon_days\":30")
              && strstr(json, "\"tenant_id\":\"fading\""), "score %s", json);
    CHECK(count(json, "\"source\":\"model\"") == 3, "three model reasons: %s", json);
    double p_fading = json_number(json, "probability");
    tml_string_free(json);

    /* Zero reasons: the same probability, no reasons. */
    json = NULL;
    st = tml_churn_predict_json(p, fading, AS_OF, 0, &json);
    CHECK(st == TML_STATUS_OK && strstr(json, "\"reasons\":[]")
              && json_number(json, "probability") == p_fading, "no reasons %s", json);
    tml_string_free(json);

    /* The flat hot path equals the JSON path, bit for bit. */
    size_t n = tml_churn_n_features();
    CHECK(n == 21, "n_features %zu", n);
    double row[21];
    st = tml_churn_features(fading, AS_OF, row, n);
    CHECK(st == TML_STATUS_OK && row[0] == 22.0 && isnan(row[11]) == 0, "features -> %d, days inactive %f",
          st, row[0]);
    double prob = -1.0;
    TmlChurnRegime regime = TML_CHURN_REGIME_FALLBACK;
    st = tml_churn_predict_features(p, row, n, AS_OF, &prob, &regime);
    CHECK(st == TML_STATUS_OK && prob == p_fading && regime == TML_CHURN_REGIME_COLD_START,
          "flat %f vs json %f, regime %d", prob, p_fading, regime);
    st = tml_churn_predict_features(p, row, n, AS_OF, &prob, NULL);
    CHECK(st == TML_STATUS_OK && prob == p_fading, "flat without regime");

    /* The active tenant is less likely to churn than the fading one. */
    json = NULL;
    st = tml_churn_predict_json(p, active, AS_OF, 1, &json);
    CHECK(st == TML_STATUS_OK && json_number(json, "probability") < p_fading, "active %s vs %f", json, p_fading);
    tml_string_free(json);

    char *names = NULL;
    CHECK(tml_churn_feature_names_json(&names) == TML_STATUS_OK && names[0] == '['
              && strstr(names, "\"days_since_last_activity\"") && count(names, "\",") == 20,
          "names %s", names);
    tml_string_free(names);

    /* A batch in input order. */
    char batch[9000];
    snprintf(batch, sizeof batch, "[%s, %s]", active, fading);
    json = NULL;
    st = tml_churn_predict_batch_json(p, batch, AS_OF, &json);
    CHECK(st == TML_STATUS_OK && json[0] == '[' && count(json, "\"tenant_id\"") == 2
              && strstr(json, "\"active\"") < strstr(json, "\"fading\""), "batch %s", json);
    tml_string_free(json);
}

static void test_rules_only_and_triggers(void) {
    TmlChurnPredictor *rules = NULL;
    TmlStatus st = tml_churn_rules_only("{\"inactivity_threshold_days\": 10}", &rules);
    CHECK(st == TML_STATUS_OK, "rules only -> %d", st);
    char *score = NULL;
    st = tml_churn_predict_json(rules, fading, AS_OF, 3, &score);
    CHECK(st == TML_STATUS_OK && strstr(score, "\"regime\":\"fallback\"")
              && strstr(score, "\"model_name\":\"inactivity-rule\"") && strstr(score, "\"inactive_flag\":true")
              && strstr(score, "rule:days_inactive"), "rule score %s", score);
    double row[21], prob = -1.0;
    TmlChurnRegime regime = TML_CHURN_REGIME_MODEL;
    tml_churn_features(fading, AS_OF, row, 21);
    st = tml_churn_predict_features(rules, row, 21, AS_OF, &prob, &regime);
    CHECK(st == TML_STATUS_OK && prob == json_number(score, "probability") && regime == TML_CHURN_REGIME_FALLBACK,
          "rule flat %f regime %d", prob, regime);

    /* Triggers: fire, then held back by the cool-down with the returned state, then again. */
    const char *policy = "{\"rules\": [{\"action\": \"winback_email\", \"min_probability\": 0.5, "
                         "\"cooldown_days\": 7}]}";
    char scores[8192];
    snprintf(scores, sizeof scores, "[%s]", score);
    tml_string_free(score);
    char *outcome = NULL;
    st = tml_churn_triggers_json(policy, scores, NULL, AS_OF, &outcome);
    CHECK(st == TML_STATUS_OK && count(outcome, "\"action\":\"winback_email\"") == 1
              && strstr(outcome, "\"suppressed\":[]"), "first triggers %s", outcome);
    const char *at = outcome ? strstr(outcome, "\"state\":") : NULL;
    CHECK(at != NULL, "outcome has a state");
    char state[1024] = "{}";
    if (at) {
        snprintf(state, sizeof state, "%s", at + strlen("\"state\":"));
        state[strlen(state) - 1] = '\0'; /* the outcome's closing brace */
    }
    CHECK(strstr(state, "\"fading\":{\"winback_email\":") != NULL, "state %s", state);
    tml_string_free(outcome);

    outcome = NULL;
    st = tml_churn_triggers_json(policy, scores, state, AS_OF + DAY, &outcome);
    CHECK(st == TML_STATUS_OK && strstr(outcome, "\"decisions\":[]")
              && count(outcome, "\"next_allowed_at\"") == 1
              && json_number(outcome, "next_allowed_at") == (double)(AS_OF + 7LL * DAY),
          "suppressed %s", outcome);
    tml_string_free(outcome);

    outcome = NULL;
    st = tml_churn_triggers_json(policy, scores, state, AS_OF + 8LL * DAY, &outcome);
    CHECK(st == TML_STATUS_OK && count(outcome, "\"fired_at\"") == 1, "after the cool-down %s", outcome);
    tml_string_free(outcome);

    /* The default policy with an empty state; an empty state string is no state. */
    outcome = NULL;
    st = tml_churn_triggers_json(NULL, scores, "", AS_OF, &outcome);
    CHECK(st == TML_STATUS_OK && strstr(outcome, "\"decisions\":"), "default policy %s", outcome);
    tml_string_free(outcome);

    /* Bad policies, states and scores. */
    outcome = NULL;
    CHECK(tml_churn_triggers_json("{\"rules\": [{\"action\": \"x\", \"cooldown_days\": -1}]}", scores, NULL,
                                  AS_OF, &outcome) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("cooldown_days") && outcome == NULL, "negative cool-down");
    CHECK(tml_churn_triggers_json("{\"rules\": [{\"action\": \"x\", \"min_prob\": 0.5}]}", scores, NULL,
                                  AS_OF, &outcome) == TML_STATUS_PARSE_ERROR && last_error_contains("min_prob"),
          "unknown rule field");
    CHECK(tml_churn_triggers_json(policy, scores, "{\"last_fired\": 3}", AS_OF, &outcome)
              == TML_STATUS_PARSE_ERROR && last_error_contains("cool-down state"), "bad state");
    CHECK(tml_churn_triggers_json(policy, "[{\"tenant_id\": \"x\"}]", NULL, AS_OF, &outcome)
              == TML_STATUS_PARSE_ERROR && last_error_contains("scores"), "incomplete score");
    CHECK(tml_churn_triggers_json(policy, NULL, NULL, AS_OF, &outcome) == TML_STATUS_NULL_POINTER
              && last_error_contains("scores_json"), "NULL scores");
    CHECK(tml_churn_triggers_json(policy, "[]", NULL, AS_OF, NULL) == TML_STATUS_NULL_POINTER, "NULL out");
    tml_churn_free(rules);
}

/* 80 tenants over 200 days, half of them fading out and cancelling. */
static char *labelled_tenants(void) {
    size_t cap = 2u << 20, n = 0;
    char *buf = malloc(cap);
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int t = 0; t < 80; t++) {
        bool churns = t % 2 == 0;
        int churn_day = 100 + (t * 7) % 90;
        int stop = churns ? churn_day - 15 - t % 10 : 200;
        n += (size_t)snprintf(buf + n, cap - n, "%s{\"id\": \"t%d\", \"events\": [", t ? ", " : "", t);
        for (int d = 0; d < stop; d += 1 + t % 3) {
            n += (size_t)snprintf(buf + n, cap - n, "%s{\"at\": %lld, \"amount\": %d}", d ? ", " : "",
                                  (long long)START + (long long)d * DAY + 3600, 1 + t % 5);
        }
        n += (size_t)snprintf(buf + n, cap - n, "], \"failed_payments\": [], \"tickets\": []");
        if (churns) {
            n += (size_t)snprintf(buf + n, cap - n, ", \"churned_at\": %lld",
                                  (long long)START + (long long)churn_day * DAY);
        }
        n += (size_t)snprintf(buf + n, cap - n, "}");
    }
    snprintf(buf + n, cap - n, "]");
    return buf;
}

static void test_fit(void) {
    char *tenants = labelled_tenants();
    char spec[512];
    snprintf(spec, sizeof spec,
             "{\"observation_dates\": [%lld, %lld, %lld, %lld], \"horizon_days\": 30, \"data_end\": %lld}",
             (long long)START + 90LL * DAY, (long long)START + 110LL * DAY, (long long)START + 130LL * DAY,
             (long long)START + 150LL * DAY, (long long)START + 200LL * DAY);
    TmlChurnPredictor *p = NULL;
    TmlStatus st = tml_churn_fit(tenants, spec, QUICK, &p);
    CHECK(st == TML_STATUS_OK && p, "fit -> %d", st);
    char *info = NULL;
    CHECK(p && tml_churn_info_json(p, &info) == TML_STATUS_OK && strstr(info, "\"regime\":\"model\"")
              && strstr(info, "\"kind\":\"churn-predictor\""), "fit info %s", info);
    tml_string_free(info);
    tml_churn_free(p);

    TmlChurnPredictor *none = NULL;
    char spec60[512];
    snprintf(spec60, sizeof spec60, "{\"observation_dates\": [%lld], \"horizon_days\": 60, \"data_end\": %lld}",
             (long long)START + 90LL * DAY, (long long)START + 200LL * DAY);
    CHECK(tml_churn_fit(tenants, spec60, QUICK, &none) == TML_STATUS_INVALID_ARGUMENT && none == NULL
              && last_error_contains("horizon"), "spec and params horizons differ");
    CHECK(tml_churn_fit("[{\"id\": \"a\", \"events\": []}]", spec, NULL, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("both"), "one class only");
    CHECK(tml_churn_fit(tenants, "{\"observation_dates\": [1], \"horizon\": 30}", NULL, &none)
              == TML_STATUS_PARSE_ERROR && last_error_contains("label spec"), "bad spec");
    CHECK(tml_churn_fit(NULL, spec, NULL, &none) == TML_STATUS_NULL_POINTER, "NULL tenants");
    CHECK(tml_churn_fit(tenants, spec, "{\"horizon\": 30}", &none) == TML_STATUS_PARSE_ERROR
              && last_error_contains("horizon"), "unknown parameter");
    CHECK(tml_churn_fit(tenants, spec, "{\"model\": {\"task\": \"regression\"}}", &none)
              == TML_STATUS_INVALID_ARGUMENT && none == NULL && last_error_contains("binary"),
          "regression model");
    /* A partial model keeps the churn defaults (binary, calibrated). */
    TmlChurnPredictor *partial = NULL;
    CHECK(tml_churn_fit(tenants, spec, "{\"model\": {\"gbdt\": {\"rounds\": 5}}}", &partial)
              == TML_STATUS_OK && partial, "partial model settings");
    tml_churn_free(partial);
    free(tenants);
}

static void test_persistence(TmlChurnPredictor *p, const char *dir) {
    char *info = NULL;
    CHECK(tml_churn_info_json(p, &info) == TML_STATUS_OK && strstr(info, "\"churn-c\"")
              && strstr(info, "\"regime\":\"cold_start\""), "info %s", info);
    tml_string_free(info);

    TmlBytes bytes = {0};
    CHECK(tml_churn_to_bytes(p, &bytes) == TML_STATUS_OK && bytes.len > 100, "to_bytes");
    TmlChurnPredictor *back = NULL;
    CHECK(tml_churn_from_bytes(bytes.data, bytes.len, &back) == TML_STATUS_OK, "from_bytes");
    char *a = NULL, *b = NULL;
    tml_churn_predict_json(p, fading, AS_OF, 3, &a);
    tml_churn_predict_json(back, fading, AS_OF, 3, &b);
    CHECK(a && b && strcmp(a, b) == 0, "round trip scores differ: %s vs %s", a, b);
    tml_string_free(a);
    tml_string_free(b);
    tml_churn_free(back);

    TmlChurnPredictor *none = NULL;
    CHECK(tml_churn_from_bytes(bytes.data, bytes.len / 2, &none) == TML_STATUS_BAD_MODEL_FILE && none == NULL,
          "truncated bytes");
    const uint8_t garbage[] = "TMLMODEL but not really";
    CHECK(tml_churn_from_bytes(garbage, sizeof garbage, &none) == TML_STATUS_BAD_MODEL_FILE, "garbage bytes");
    CHECK(tml_churn_from_bytes(NULL, 10, &none) == TML_STATUS_NULL_POINTER, "NULL bytes");
    tml_bytes_free(bytes.data, bytes.len);

    char path[4096];
    snprintf(path, sizeof path, "%s/churn.tml", dir);
    CHECK(tml_churn_save(p, path) == TML_STATUS_OK, "save");
    CHECK(tml_churn_load(path, &back) == TML_STATUS_OK, "load");
    tml_churn_free(back);
    snprintf(path, sizeof path, "%s/missing.tml", dir);
    CHECK(tml_churn_load(path, &back) == TML_STATUS_IO, "load missing");

    /* Metadata changes the name and version scores carry. */
    CHECK(tml_churn_set_metadata_json(p, "{\"version\": 5}") == TML_STATUS_OK, "metadata");
    CHECK(tml_churn_set_metadata_json(p, "{\"versio\": 5}") == TML_STATUS_PARSE_ERROR, "bad metadata");
    a = NULL;
    tml_churn_predict_json(p, fading, AS_OF, 0, &a);
    CHECK(a && strstr(a, "\"model_version\":5"), "version 5: %s", a);
    tml_string_free(a);
}

static void test_error_paths(TmlChurnPredictor *p) {
    char *json = NULL;
    double row[21], prob = 0.0;
    CHECK(tml_churn_predict_json(NULL, fading, AS_OF, 3, &json) == TML_STATUS_NULL_POINTER
              && last_error_contains("predictor"), "NULL predictor");
    CHECK(tml_churn_predict_json(p, NULL, AS_OF, 3, &json) == TML_STATUS_NULL_POINTER
              && last_error_contains("tenant_json"), "NULL tenant");
    CHECK(tml_churn_predict_json(p, fading, AS_OF, 3, NULL) == TML_STATUS_NULL_POINTER, "NULL out_json");
    CHECK(tml_churn_predict_json(p, "{not json", AS_OF, 3, &json) == TML_STATUS_PARSE_ERROR && json == NULL,
          "bad JSON");
    CHECK(tml_churn_predict_json(p, "{\"id\": \"x\", \"evnts\": []}", AS_OF, 3, &json) == TML_STATUS_PARSE_ERROR
              && last_error_contains("evnts"), "unknown field");
    CHECK(tml_churn_predict_json(p, "{\"id\": \"x\", \"events\": [{\"at\": 1, \"amount\": -2}]}", AS_OF, 3, &json)
              == TML_STATUS_INVALID_ARGUMENT && last_error_contains("amount"), "negative amount");
    CHECK(tml_churn_predict_json(p, "{\"id\": \"x\", \"subscription\": {\"started_at\": 1800000000}}", AS_OF, 3,
                                 &json) == TML_STATUS_INVALID_ARGUMENT && last_error_contains("before"),
          "as_of before the start");
    CHECK(tml_churn_predict_batch_json(p, "{\"id\": \"x\"}", AS_OF, &json) == TML_STATUS_PARSE_ERROR,
          "batch of an object");

    CHECK(tml_churn_features(fading, AS_OF, row, 20) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("21"), "short feature buffer");
    CHECK(tml_churn_features(fading, AS_OF, NULL, 21) == TML_STATUS_NULL_POINTER, "NULL feature buffer");
    CHECK(tml_churn_features(NULL, AS_OF, row, 21) == TML_STATUS_NULL_POINTER, "NULL tenant for features");

    for (int i = 0; i < 21; i++) row[i] = NAN;
    CHECK(tml_churn_predict_features(p, row, 21, AS_OF, &prob, NULL) == TML_STATUS_OK && prob >= 0.0
              && prob <= 1.0, "every feature missing is allowed: %f", prob);
    CHECK(tml_churn_predict_features(p, row, 5, AS_OF, &prob, NULL) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("21"), "short row");
    row[3] = INFINITY;
    CHECK(tml_churn_predict_features(p, row, 21, AS_OF, &prob, NULL) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("active_days_90d"), "infinite feature");
    CHECK(tml_churn_predict_features(p, NULL, 21, AS_OF, &prob, NULL) == TML_STATUS_NULL_POINTER, "NULL row");
    CHECK(tml_churn_predict_features(p, row, 21, AS_OF, NULL, NULL) == TML_STATUS_NULL_POINTER, "NULL prob");
    CHECK(tml_churn_predict_features(NULL, row, 21, AS_OF, &prob, NULL) == TML_STATUS_NULL_POINTER,
          "NULL predictor (flat)");

    TmlChurnPredictor *none = NULL;
    CHECK(tml_churn_cold_start("{\"tenant\": 10}", NULL, 1, &none) == TML_STATUS_PARSE_ERROR
              && last_error_contains("tenant") && none == NULL, "unknown setting");
    CHECK(tml_churn_cold_start("{\"days\": 10}", NULL, 1, &none) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("days"), "too few days");
    CHECK(tml_churn_cold_start(SETTINGS, QUICK, 1, NULL) == TML_STATUS_NULL_POINTER, "NULL out (cold start)");
    CHECK(tml_churn_rules_only("{\"inactivity_threshold_days\": -3}", &none) == TML_STATUS_INVALID_ARGUMENT
              && none == NULL, "negative threshold");
    CHECK(tml_churn_rules_only("[1, 2]", &none) == TML_STATUS_PARSE_ERROR, "params not an object");
    CHECK(tml_churn_info_json(NULL, &json) == TML_STATUS_NULL_POINTER, "NULL info");
    CHECK(tml_churn_save(p, NULL) == TML_STATUS_NULL_POINTER, "NULL path");
    CHECK(tml_churn_to_bytes(p, NULL) == TML_STATUS_NULL_POINTER, "NULL out_bytes");
    tml_churn_free(NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    tenant_json(fading, sizeof fading, "fading", 4, 22, 1);
    tenant_json(active, sizeof active, "active", 1, 1, 0);
    TmlChurnPredictor *p = cold_start();
    if (p != NULL) {
        test_predict(p);
        test_persistence(p, argv[1]);
        test_error_paths(p);
        tml_churn_free(p);
    }
    test_rules_only_and_triggers();
    test_fit();
    printf("churn_test: %d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
