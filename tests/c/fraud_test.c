/*
 * Drives fraud scoring through the C ABI as a C (or PHP FFI) caller would: a cold-start
 * scorer from a small synthetic data set, schema code lookup, the allocation-free hot path
 * with a history of parallel arrays, explanations as JSON, features, the rules-only
 * fallback with exact rule hits, fitting on labelled transactions, bytes and file round
 * trips, and the error paths (NULL pointers, bad rule configs, negative thresholds, NaN
 * amounts, codes outside the schema, bad labels, garbage and truncated bytes).
 * Frees everything, so valgrind reports no leak. Exits non-zero on a failure.
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

#define T0 1767900000 /* Thursday 2026-01-08T19:20:00Z */
#define DAY 86400
#define MAX_HISTORY 32

/* Small data: valgrind runs this test. */
static const char *SETTINGS = "{\"customers\": 120, \"days\": 10, \"fraud_rate\": 0.03}";

typedef struct {
    double amounts[MAX_HISTORY];
    int64_t timestamps[MAX_HISTORY];
    uint64_t methods[MAX_HISTORY];
    uint32_t countries[MAX_HISTORY];
    uint32_t outcomes[MAX_HISTORY];
    size_t n;
} History;

static void push(History *h, double amount, int64_t t, uint64_t method, uint32_t country,
                 uint32_t outcome) {
    h->amounts[h->n] = amount;
    h->timestamps[h->n] = t;
    h->methods[h->n] = method;
    h->countries[h->n] = country;
    h->outcomes[h->n] = outcome;
    h->n++;
}

static bool last_error_contains(const char *needle) {
    const char *msg = tml_last_error();
    return msg != NULL && strstr(msg, needle) != NULL;
}

static TmlTransaction txn_at(int64_t t, double amount, uint64_t method, uint32_t country) {
    TmlTransaction x;
    memset(&x, 0, sizeof x);
    x.amount = amount;
    x.timestamp = t;
    x.customer = 7;
    x.payment_method = method;
    x.country = country;
    x.ip_country = country;
    return x;
}

/* Ten days of one purchase a day on method 11 in `de`. */
static void usual_history(History *h, uint32_t de) {
    h->n = 0;
    for (int d = 1; d <= 10; d++) {
        push(h, 30.0 + d, T0 - d * DAY, 11, de, 0);
    }
}

static TmlStatus score(const TmlFraudScorer *s, const TmlTransaction *t, const History *h,
                       TmlFraudSummary *out) {
    return tml_fraud_score(s, t, h->amounts, h->timestamps, h->methods, h->countries,
                           h->outcomes, h->n, out);
}

static void test_cold_start(void) {
    TmlFraudScorer *s = NULL;
    TmlStatus st = tml_fraud_cold_start(SETTINGS, 5, &s);
    CHECK(st == TML_STATUS_OK && s != NULL, "cold start -> %d", st);
    if (s == NULL) {
        return;
    }
    uint32_t de = 99, eur = 99, unknown = 99;
    CHECK(tml_fraud_code(s, "country", "DE", &de) == TML_STATUS_OK && de > 0, "DE -> %u", de);
    CHECK(tml_fraud_code(s, "currency", "EUR", &eur) == TML_STATUS_OK && eur > 0, "EUR -> %u", eur);
    CHECK(tml_fraud_code(s, "country", "Atlantis", &unknown) == TML_STATUS_OK && unknown == 0,
          "unknown string -> %u", unknown);
    CHECK(tml_fraud_code(s, "planet", "Mars", &unknown) == TML_STATUS_INVALID_ARGUMENT
          && last_error_contains("planet"), "unknown field");

    History h;
    usual_history(&h, de);
    TmlTransaction usual = txn_at(T0, 35.0, 11, de);
    usual.currency = eur;
    TmlFraudSummary calm = {0};
    st = score(s, &usual, &h, &calm);
    CHECK(st == TML_STATUS_OK, "score -> %d", st);
    CHECK(calm.regime == TML_FRAUD_REGIME_COLD_START, "regime %d", calm.regime);
    CHECK(calm.score >= 0.0 && calm.score <= 1.0, "score %f", calm.score);
    CHECK(calm.rule_hits == 0, "a usual purchase fires no rule: %llx",
          (unsigned long long)calm.rule_hits);

    /* Card testing: eight tiny failed attempts in the last minutes on a new method. */
    History burst = h;
    for (int i = 1; i <= 8; i++) {
        push(&burst, 1.0, T0 - 20 * i, 99, de, 1);
    }
    TmlTransaction testing = txn_at(T0, 1.0, 99, de);
    TmlFraudSummary risky = {0};
    st = score(s, &testing, &burst, &risky);
    CHECK(st == TML_STATUS_OK, "score burst -> %d", st);
    CHECK(risky.score > calm.score, "burst %f vs calm %f", risky.score, calm.score);
    CHECK(risky.rule_hits != 0, "rules fire on a burst");

    char *json = NULL;
    st = tml_fraud_explain_json(s, &testing, burst.amounts, burst.timestamps, burst.methods,
                                burst.countries, burst.outcomes, burst.n, 3, &json);
    CHECK(st == TML_STATUS_OK && json != NULL, "explain -> %d", st);
    if (json != NULL) {
        CHECK(strstr(json, "\"regime\":\"cold_start\"") != NULL, "%s", json);
        CHECK(strstr(json, "\"reasons\":[{") != NULL, "%s", json);
        CHECK(strstr(json, "\"model_name\":\"fraud-cold-start\"") != NULL, "%s", json);
        tml_string_free(json);
    }

    /* Empty history: NULL arrays are fine with length 0. */
    TmlFraudSummary first = {0};
    st = tml_fraud_score(s, &usual, NULL, NULL, NULL, NULL, NULL, 0, &first);
    CHECK(st == TML_STATUS_OK, "empty history -> %d", st);

    char *info = NULL;
    st = tml_fraud_info_json(s, &info);
    CHECK(st == TML_STATUS_OK && strstr(info, "\"feature_names\"") != NULL, "info");
    tml_string_free(info);

    double features[64];
    st = tml_fraud_features(s, &usual, h.amounts, h.timestamps, h.methods, h.countries,
                            h.outcomes, h.n, features, 29);
    CHECK(st == TML_STATUS_OK, "features -> %d", st);
    CHECK(features[20] == 10.0, "history_length feature %f", features[20]);
    st = tml_fraud_features(s, &usual, h.amounts, h.timestamps, h.methods, h.countries,
                            h.outcomes, h.n, features, 3);
    CHECK(st == TML_STATUS_INVALID_ARGUMENT && last_error_contains("29 features"), "short buffer");

    /* Bad input on the hot path: clear statuses, never a crash, nothing written. */
    TmlFraudSummary untouched = {.score = -1.0};
    TmlTransaction bad = usual;
    bad.amount = NAN;
    CHECK(score(s, &bad, &h, &untouched) == TML_STATUS_INVALID_ARGUMENT
          && last_error_contains("amount") && untouched.score == -1.0, "NaN amount");
    bad = usual;
    bad.country = 10000;
    CHECK(score(s, &bad, &h, &untouched) == TML_STATUS_INVALID_ARGUMENT
          && last_error_contains("country code 10000"), "code outside the schema");
    History badh = h;
    badh.outcomes[3] = 7;
    CHECK(score(s, &usual, &badh, &untouched) == TML_STATUS_INVALID_ARGUMENT
          && last_error_contains("history row 3"), "bad outcome");
    badh = h;
    badh.amounts[0] = -5.0;
    CHECK(score(s, &usual, &badh, &untouched) == TML_STATUS_INVALID_ARGUMENT, "negative amount");
    CHECK(tml_fraud_score(s, &usual, NULL, h.timestamps, h.methods, h.countries, h.outcomes, h.n,
                          &untouched) == TML_STATUS_NULL_POINTER
          && last_error_contains("amounts"), "NULL amounts with rows");
    CHECK(tml_fraud_score(NULL, &usual, NULL, NULL, NULL, NULL, NULL, 0, &untouched)
          == TML_STATUS_NULL_POINTER, "NULL scorer");
    CHECK(tml_fraud_score(s, NULL, NULL, NULL, NULL, NULL, NULL, 0, &untouched)
          == TML_STATUS_NULL_POINTER, "NULL txn");
    CHECK(tml_fraud_score(s, &usual, NULL, NULL, NULL, NULL, NULL, 0, NULL)
          == TML_STATUS_NULL_POINTER, "NULL out");
    CHECK(untouched.score == -1.0, "outputs written only on success");

    CHECK(tml_fraud_set_thresholds(s, -0.1, 0.5) == TML_STATUS_INVALID_ARGUMENT
          && last_error_contains("review_at"), "negative threshold");
    CHECK(tml_fraud_set_thresholds(s, 0.0, 0.0) == TML_STATUS_OK, "decline everything");
    CHECK(score(s, &usual, &h, &first) == TML_STATUS_OK && first.decision == TML_FRAUD_DECISION_DECLINE,
          "decision %d", first.decision);
    CHECK(tml_fraud_set_name(s, "acme-fraud", 4) == TML_STATUS_OK, "rename");
    CHECK(tml_fraud_set_name(s, "", 4) == TML_STATUS_INVALID_ARGUMENT, "empty name");
    tml_fraud_free(s);
}

static void test_rules_only(void) {
    const char *schema = "{\"countries\": [\"DE\", \"FR\"], \"time_zone\": \"Europe/Berlin\"}";
    TmlFraudScorer *s = NULL;
    TmlStatus st = tml_fraud_rules_only(NULL, schema, &s);
    CHECK(st == TML_STATUS_OK && s != NULL, "rules only -> %d", st);
    if (s == NULL) {
        return;
    }
    History h;
    usual_history(&h, 1);
    for (int i = 1; i <= 4; i++) {
        push(&h, 1.0, T0 - 30 * i, 99, 1, 1);
    }
    TmlTransaction t = txn_at(T0, 1.0, 99, 1);
    TmlFraudSummary out = {0};
    st = score(s, &t, &h, &out);
    CHECK(st == TML_STATUS_OK, "score -> %d", st);
    CHECK(out.regime == TML_FRAUD_REGIME_FALLBACK, "regime %d", out.regime);
    /* Default rules: bit 3 velocity_10m (5 > 3), bit 7 failed_attempts (4 >= 3). */
    CHECK(out.rule_hits == ((1u << 3) | (1u << 7)), "hits %llx", (unsigned long long)out.rule_hits);
    CHECK(fabs(out.score - 0.75) < 1e-12 && out.score == out.rule_score, "score %f", out.score);
    CHECK(out.decision == TML_FRAUD_DECISION_DECLINE, "decision %d", out.decision);

    char *json = NULL;
    st = tml_fraud_explain_json(s, &t, h.amounts, h.timestamps, h.methods, h.countries,
                                h.outcomes, h.n, 1, &json);
    CHECK(st == TML_STATUS_OK && strstr(json, "\"regime\":\"fallback\"") != NULL
          && strstr(json, "rule:velocity_10m") != NULL, "%s", json ? json : "");
    tml_string_free(json);
    tml_fraud_free(s);

    const char *custom = "{\"name\": \"platform\", \"version\": 2, \"rules\": ["
                         "{\"type\": \"amount_over\", \"limit\": 500, \"weight\": 0.6}]}";
    st = tml_fraud_rules_only(custom, NULL, &s);
    CHECK(st == TML_STATUS_OK, "custom rules -> %d", st);
    t.amount = 900.0;
    t.country = 0;
    t.ip_country = 0;
    st = tml_fraud_score(s, &t, NULL, NULL, NULL, NULL, NULL, 0, &out);
    CHECK(st == TML_STATUS_OK && out.rule_hits == 1 && fabs(out.score - 0.6) < 1e-12, "custom hit");
    t.country = 1; /* no dictionary in this schema: code 1 is outside it */
    CHECK(tml_fraud_score(s, &t, NULL, NULL, NULL, NULL, NULL, 0, &out) == TML_STATUS_INVALID_ARGUMENT,
          "code outside an empty dictionary");
    tml_fraud_free(s);

    /* A hard rule: weight 0.1 alone approves, its action makes it a review. */
    const char *hard = "{\"rules\": [{\"type\": \"amount_over\", \"limit\": 500, \"weight\": 0.1, "
                       "\"action\": \"review\"}]}";
    s = NULL;
    st = tml_fraud_rules_only(hard, NULL, &s);
    CHECK(st == TML_STATUS_OK && s != NULL, "hard rule -> %d", st);
    if (s != NULL) {
        t.country = 0;
        st = tml_fraud_score(s, &t, NULL, NULL, NULL, NULL, NULL, 0, &out);
        CHECK(st == TML_STATUS_OK && fabs(out.score - 0.1) < 1e-12
                  && out.decision == TML_FRAUD_DECISION_REVIEW, "hard rule decision %d", out.decision);
        tml_fraud_free(s);
    }
}

static void test_rules_config_errors(void) {
    char *normalised = NULL;
    CHECK(tml_fraud_rules_check("{\"rules\": []}", &normalised) == TML_STATUS_OK
          && strstr(normalised, "\"rules\"") != NULL, "empty rule list");
    tml_string_free(normalised);
    CHECK(tml_fraud_rules_check("{\"rules\": [{\"type\": \"amount_over\", \"limit\": 10, \"weight\": 0.5}]}",
                                NULL) == TML_STATUS_OK, "check without output");
    CHECK(tml_fraud_rules_check("{not json", NULL) == TML_STATUS_PARSE_ERROR, "bad JSON");
    CHECK(tml_fraud_rules_check("{\"rules\": [{\"type\": \"moon_phase\", \"weight\": 0.5}]}", NULL)
          == TML_STATUS_PARSE_ERROR && last_error_contains("moon_phase"), "unknown rule");
    CHECK(tml_fraud_rules_check("{\"rules\": [{\"type\": \"amount_over\", \"limit\": -1, \"weight\": 0.5}]}",
                                NULL) == TML_STATUS_PARSE_ERROR && last_error_contains("limit"),
          "negative threshold");
    CHECK(tml_fraud_rules_check("{\"rules\": [{\"type\": \"amount_over\", \"limit\": 1, \"weight\": 0.5, "
                                "\"action\": \"approve\"}]}", NULL) == TML_STATUS_PARSE_ERROR
              && last_error_contains("action"), "a rule cannot approve");
    CHECK(tml_fraud_rules_check(NULL, NULL) == TML_STATUS_NULL_POINTER, "NULL config");
    char *defaults = NULL;
    CHECK(tml_fraud_rules_default_json(&defaults) == TML_STATUS_OK
          && strstr(defaults, "velocity_10m") != NULL, "default rules");
    tml_string_free(defaults);

    TmlFraudScorer *s = NULL;
    CHECK(tml_fraud_rules_only("{\"rules\": [{\"type\": \"nope\"}]}", NULL, &s) == TML_STATUS_PARSE_ERROR
          && s == NULL, "rules_only with a bad config");
    CHECK(tml_fraud_rules_only(NULL, "{\"continents\": []}", &s) == TML_STATUS_PARSE_ERROR, "bad schema");
    CHECK(tml_fraud_rules_only(NULL, NULL, NULL) == TML_STATUS_NULL_POINTER, "NULL out");
    CHECK(tml_fraud_cold_start("tomorrow", 1, &s) == TML_STATUS_INVALID_ARGUMENT
          && last_error_contains("tomorrow"), "unknown settings");
    CHECK(tml_fraud_cold_start("{\"customers\": 0}", 1, &s) == TML_STATUS_INVALID_ARGUMENT,
          "bad settings");
}

static void test_fit_and_persistence(const char *dir) {
    /* 40 customers: a purchase a day; customer 0..3 then a card-testing burst (fraud). */
    enum { CUSTOMERS = 40, DAYS = 8, BURST = 6 };
    size_t n = CUSTOMERS * DAYS + 4 * BURST;
    TmlTransaction *txns = calloc(n, sizeof *txns);
    uint8_t *labels = calloc(n, 1);
    size_t k = 0;
    for (int c = 0; c < CUSTOMERS; c++) {
        for (int d = 0; d < DAYS; d++) {
            txns[k] = txn_at(T0 - (DAYS - d) * DAY + c * 60, 20.0 + c % 7 + d, 100 + c, 1);
            txns[k].customer = c;
            k++;
        }
    }
    for (int c = 0; c < 4; c++) {
        for (int i = 0; i < BURST; i++) {
            txns[k] = txn_at(T0 + i * 30, 1.0, 900 + c, 2);
            txns[k].customer = c;
            txns[k].outcome = i < BURST - 1;
            labels[k] = 1;
            k++;
        }
    }
    const char *schema = "{\"countries\": [\"DE\", \"FR\"]}";
    const char *params = "{\"name\": \"acme\", \"version\": 3, \"model\": {\"gbdt\": {\"rounds\": 30, "
                         "\"min_samples_leaf\": 2}}}";
    TmlFraudScorer *s = NULL;
    TmlStatus st = tml_fraud_fit(txns, labels, n, schema, params, &s);
    CHECK(st == TML_STATUS_OK && s != NULL, "fit -> %d", st);

    labels[0] = 2;
    TmlFraudScorer *bad = NULL;
    CHECK(tml_fraud_fit(txns, labels, n, schema, params, &bad) == TML_STATUS_INVALID_ARGUMENT
          && last_error_contains("labels[0]"), "label 2");
    labels[0] = 0;
    CHECK(tml_fraud_fit(txns, labels, n, schema, "{\"review_at\": -0.5}", &bad)
          == TML_STATUS_INVALID_ARGUMENT, "negative review_at");
    CHECK(tml_fraud_fit(txns, labels, n, schema, "{\"speed\": 1}", &bad) == TML_STATUS_PARSE_ERROR
          && last_error_contains("speed"), "unknown parameter");
    CHECK(tml_fraud_fit(NULL, labels, n, schema, params, &bad) == TML_STATUS_NULL_POINTER, "NULL txns");
    txns[5].amount = NAN;
    CHECK(tml_fraud_fit(txns, labels, n, schema, params, &bad) == TML_STATUS_INVALID_ARGUMENT
          && last_error_contains("amount"), "NaN amount in training");
    CHECK(bad == NULL, "no handle on failure");
    free(txns);
    free(labels);
    if (s == NULL) {
        return;
    }

    History h;
    usual_history(&h, 1);
    TmlTransaction t = txn_at(T0, 25.0, 11, 1);
    TmlFraudSummary a = {0}, b = {0};
    CHECK(score(s, &t, &h, &a) == TML_STATUS_OK && a.regime == TML_FRAUD_REGIME_MODEL, "fitted");

    TmlBytes bytes = {0};
    st = tml_fraud_to_bytes(s, &bytes);
    CHECK(st == TML_STATUS_OK && bytes.len > 0, "to_bytes -> %d", st);
    TmlFraudScorer *copy = NULL;
    st = tml_fraud_from_bytes(bytes.data, bytes.len, &copy);
    CHECK(st == TML_STATUS_OK, "from_bytes -> %d", st);
    CHECK(score(copy, &t, &h, &b) == TML_STATUS_OK && a.score == b.score, "same score %f %f",
          a.score, b.score);
    tml_fraud_free(copy);
    copy = NULL;
    CHECK(tml_fraud_from_bytes(bytes.data, bytes.len / 2, &copy) == TML_STATUS_BAD_MODEL_FILE
          && copy == NULL, "truncated bytes");
    bytes.data[bytes.len - 3] ^= 0x5a;
    CHECK(tml_fraud_from_bytes(bytes.data, bytes.len, &copy) == TML_STATUS_BAD_MODEL_FILE,
          "corrupted bytes");
    CHECK(tml_fraud_from_bytes((const uint8_t *)"garbage", 7, &copy) == TML_STATUS_BAD_MODEL_FILE,
          "garbage");
    CHECK(tml_fraud_from_bytes(NULL, 10, &copy) == TML_STATUS_NULL_POINTER, "NULL bytes");
    tml_bytes_free(bytes.data, bytes.len);

    char path[512];
    snprintf(path, sizeof path, "%s/fraud.tml", dir);
    CHECK(tml_fraud_save(s, path) == TML_STATUS_OK, "save");
    st = tml_fraud_load(path, &copy);
    CHECK(st == TML_STATUS_OK, "load -> %d", st);
    CHECK(score(copy, &t, &h, &b) == TML_STATUS_OK && a.score == b.score, "same after load");
    tml_fraud_free(copy);
    snprintf(path, sizeof path, "%s/missing.tml", dir);
    CHECK(tml_fraud_load(path, &copy) == TML_STATUS_IO, "missing file");
    tml_fraud_free(s);
    tml_fraud_free(NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    test_cold_start();
    test_rules_only();
    test_rules_config_errors();
    test_fit_and_persistence(argv[1]);
    printf("fraud_test: %d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
