/*
 * Drives usage forecasting through the C ABI as a C (or PHP FFI) caller would: fit on
 * back-to-back series, forecast into caller arrays (intervals, regime, weight) and as JSON,
 * the cold-start path for a tenant with no data, the fallback rule, a backtest, info and
 * metadata, bytes and file round trips, and the error paths (NULL pointers, mismatched
 * lengths, NaN/inf, horizon 0, bad levels, malformed JSON, garbage and truncated bytes).
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

#define HOUR 3600
#define START 1704067200 /* Monday 2024-01-01T00:00:00Z */
#define DAYS 28
#define N (DAYS * 24)
#define SERIES 2
#define H 24

static int64_t ts[SERIES * N];
static double vs[SERIES * N];
static size_t lengths[SERIES] = {N, N};

static bool last_error_contains(const char *needle) {
    const char *msg = tml_last_error();
    return msg != NULL && strstr(msg, needle) != NULL;
}

/* Business hours busier than nights, weekends quieter; a seeded generator for noise. */
static void make_data(void) {
    uint32_t state = 777;
    for (int s = 0; s < SERIES; s++) {
        for (int i = 0; i < N; i++) {
            state = state * 1664525u + 1013904223u;
            double noise = ((double)(state >> 8) / (double)(1u << 24) - 0.5) * 0.2;
            int hour = i % 24, day = (i / 24) % 7;
            double daily = (hour >= 8 && hour < 18) ? 1.6 : 0.5;
            double weekly = day >= 5 ? 0.4 : 1.0;
            ts[s * N + i] = START + (int64_t)i * HOUR;
            vs[s * N + i] = 10.0 * (s + 1) * daily * weekly * (1.0 + noise);
        }
    }
}

static const char *PARAMS =
    "{\"name\": \"usage\", \"version\": 2, "
    "\"model\": {\"gbdt\": {\"rounds\": 20}, \"forest\": {\"trees\": 5}}, "
    "\"calibration_windows\": 4, \"learn_handover\": false}";

static TmlForecaster *fit(void) {
    TmlForecaster *f = NULL;
    TmlStatus st = tml_forecaster_fit(ts, vs, SERIES * N, lengths, SERIES, PARAMS, &f);
    CHECK(st == TML_STATUS_OK && f != NULL, "fit -> %d", st);
    return f;
}

static void test_forecast(TmlForecaster *f) {
    double levels[2] = {80.0, 95.0};
    int64_t out_t[H];
    double out_f[H], lo[H * 2], up[H * 2], weight = -1.0;
    TmlRegime regime = TML_REGIME_FALLBACK;
    TmlStatus st = tml_forecaster_forecast(f, ts, vs, N, 0, H, levels, 2, 0.0, out_t, out_f, lo, up,
                                           &regime, &weight);
    CHECK(st == TML_STATUS_OK, "forecast -> %d", st);
    CHECK(regime == TML_REGIME_MODEL && weight == 1.0, "regime %d weight %f", regime, weight);
    CHECK(out_t[0] == START + (int64_t)N * HOUR, "first timestamp %lld", (long long)out_t[0]);
    int ordered = 0;
    for (int h = 0; h < H; h++) {
        ordered += lo[h * 2 + 1] <= lo[h * 2] && lo[h * 2] <= out_f[h] && out_f[h] <= up[h * 2]
                   && up[h * 2] <= up[h * 2 + 1];
    }
    CHECK(ordered == H, "bounds ordered at %d of %d steps", ordered, H);
    CHECK(out_f[10] > 1.5 * out_f[2], "10:00 %f vs 02:00 %f", out_f[10], out_f[2]);

    /* No levels: no bounds written, NULL allowed. */
    st = tml_forecaster_forecast(f, ts, vs, N, 0, H, NULL, 0, 0.0, out_t, out_f, NULL, NULL, NULL, NULL);
    CHECK(st == TML_STATUS_OK, "forecast without levels -> %d", st);

    /* A tenant with no data: the cold-start prior, starting where we say. */
    st = tml_forecaster_forecast(f, NULL, NULL, 0, START, H, levels, 1, 0.0, out_t, out_f, lo, up,
                                 &regime, &weight);
    CHECK(st == TML_STATUS_OK && regime == TML_REGIME_COLD_START_PRIOR && weight == 0.0,
          "empty history -> %d regime %d", st, regime);
    CHECK(out_t[0] == START, "cold start first timestamp %lld", (long long)out_t[0]);

    /* Two days of history: blended. */
    st = tml_forecaster_forecast(f, ts, vs, 48, 0, H, levels, 1, 0.0, out_t, out_f, lo, up, &regime, &weight);
    CHECK(st == TML_STATUS_OK && regime == TML_REGIME_BLENDED && weight > 0.0 && weight < 1.0,
          "two days -> %d regime %d weight %f", st, regime, weight);

    /* The same two days from a tenant with a year of data: the model answers. */
    st = tml_forecaster_forecast(f, ts, vs, 48, 0, H, levels, 1, 365.0, out_t, out_f, lo, up,
                                 &regime, &weight);
    CHECK(st == TML_STATUS_OK && regime == TML_REGIME_MODEL && weight == 1.0,
          "two days of a mature tenant -> %d regime %d weight %f", st, regime, weight);
    st = tml_forecaster_forecast(f, ts, vs, 48, 0, H, levels, 1, NAN, out_t, out_f, lo, up, NULL,
                                 NULL);
    CHECK(st == TML_STATUS_INVALID_ARGUMENT && last_error_contains("days of data"),
          "NaN tenant days -> %d", st);
    st = tml_forecaster_forecast(f, ts, vs, 48, 0, H, levels, 1, -1.0, out_t, out_f, lo, up, NULL,
                                 NULL);
    CHECK(st == TML_STATUS_INVALID_ARGUMENT, "negative tenant days -> %d", st);

    char *json = NULL;
    st = tml_forecaster_forecast_json(f, ts, vs, N, 0, 3, NULL, 0, 0.0, &json);
    CHECK(st == TML_STATUS_OK && json && strstr(json, "\"regime\":\"model\"")
              && strstr(json, "\"model_version\":2"), "forecast json %s", json ? json : "(null)");
    tml_string_free(json);
}

static void test_fallback_and_backtest(void) {
    double levels[1] = {80.0};
    int64_t out_t[H];
    double out_f[H], lo[H], up[H];
    TmlStatus st = tml_forecast_fallback(ts, vs, N, 0, "Europe/Berlin", H, levels, 1, out_t, out_f, lo, up);
    CHECK(st == TML_STATUS_OK && out_f[12] > out_f[2], "fallback -> %d", st);
    st = tml_forecast_fallback(ts, vs, N, 0, "Not/AZone", H, levels, 1, out_t, out_f, lo, up);
    CHECK(st == TML_STATUS_INVALID_ARGUMENT, "unknown zone -> %d", st);

    char *json = NULL;
    st = tml_forecast_backtest_json(ts, vs, N, NULL, 0, PARAMS,
                                    "{\"horizon\": 24, \"windows\": 2, \"levels\": [80]}", &json);
    CHECK(st == TML_STATUS_OK && json && strstr(json, "seasonal_naive_24"), "backtest %s",
          json ? json : "(null)");
    tml_string_free(json);
    json = NULL;
    st = tml_forecast_backtest_json(ts, vs, N, NULL, 0, PARAMS, "{\"horizon\": 0}", &json);
    CHECK(st == TML_STATUS_INVALID_ARGUMENT && json == NULL, "backtest horizon 0 -> %d", st);
}

static void test_persistence(TmlForecaster *f, const char *dir) {
    char *info = NULL;
    CHECK(tml_forecaster_info_json(f, &info) == TML_STATUS_OK && info && strstr(info, "\"usage\""),
          "info %s", info ? info : "(null)");
    tml_string_free(info);
    CHECK(tml_forecaster_set_metadata_json(f, "{\"version\": 5}") == TML_STATUS_OK, "metadata");
    CHECK(tml_forecaster_set_metadata_json(f, "{\"versio\": 5}") == TML_STATUS_PARSE_ERROR, "bad metadata");

    TmlBytes bytes = {0};
    CHECK(tml_forecaster_to_bytes(f, &bytes) == TML_STATUS_OK && bytes.len > 100, "to_bytes");
    TmlForecaster *back = NULL;
    CHECK(tml_forecaster_from_bytes(bytes.data, bytes.len, &back) == TML_STATUS_OK, "from_bytes");
    double a[3], b[3];
    int64_t t[3];
    tml_forecaster_forecast(f, ts, vs, N, 0, 3, NULL, 0, 0.0, t, a, NULL, NULL, NULL, NULL);
    tml_forecaster_forecast(back, ts, vs, N, 0, 3, NULL, 0, 0.0, t, b, NULL, NULL, NULL, NULL);
    CHECK(memcmp(a, b, sizeof a) == 0, "round trip forecasts differ");
    tml_forecaster_free(back);

    TmlForecaster *none = NULL;
    CHECK(tml_forecaster_from_bytes(bytes.data, bytes.len / 2, &none) == TML_STATUS_BAD_MODEL_FILE
              && none == NULL, "truncated bytes");
    const uint8_t garbage[] = "TMLMODEL but not really";
    CHECK(tml_forecaster_from_bytes(garbage, sizeof garbage, &none) == TML_STATUS_BAD_MODEL_FILE,
          "garbage bytes");
    tml_bytes_free(bytes.data, bytes.len);

    char path[4096];
    snprintf(path, sizeof path, "%s/usage.tml", dir);
    CHECK(tml_forecaster_save(f, path) == TML_STATUS_OK, "save");
    CHECK(tml_forecaster_load(path, &back) == TML_STATUS_OK, "load");
    tml_forecaster_free(back);
    snprintf(path, sizeof path, "%s/missing.tml", dir);
    CHECK(tml_forecaster_load(path, &back) == TML_STATUS_IO, "load missing");
}

/* Refit on the same data: the same model, so the same forecast bit for bit; errors. */
static void test_refit(TmlForecaster *f) {
    TmlForecaster *g = NULL;
    int64_t t1[H], t2[H];
    double f1[H], f2[H];
    TmlStatus st = tml_forecaster_refit(f, ts, vs, SERIES * N, lengths, SERIES, &g);
    CHECK(st == TML_STATUS_OK && g != NULL, "refit -> %d", st);
    if (g != NULL) {
        st = tml_forecaster_forecast(f, ts, vs, N, 0, H, NULL, 0, 0.0, t1, f1, NULL, NULL, NULL, NULL);
        TmlStatus st2 = tml_forecaster_forecast(g, ts, vs, N, 0, H, NULL, 0, 0.0, t2, f2, NULL, NULL, NULL,
                                                NULL);
        CHECK(st == TML_STATUS_OK && st2 == TML_STATUS_OK && memcmp(f1, f2, sizeof f1) == 0
                  && memcmp(t1, t2, sizeof t1) == 0,
              "refit on the same data forecasts the same");
        tml_forecaster_free(g);
    }
    g = NULL;
    CHECK(tml_forecaster_refit(NULL, ts, vs, N, NULL, 0, &g) == TML_STATUS_NULL_POINTER && g == NULL,
          "refit NULL forecaster");
    CHECK(tml_forecaster_refit(f, ts, vs, N, NULL, 0, NULL) == TML_STATUS_NULL_POINTER, "refit NULL out");
    CHECK(tml_forecaster_refit(f, NULL, NULL, 0, NULL, 0, &g) == TML_STATUS_INVALID_ARGUMENT && g == NULL
              && last_error_contains("nothing to refit"),
          "refit on nothing");
    int64_t daily[30];
    for (int i = 0; i < 30; i++) daily[i] = START + (int64_t)i * 86400;
    CHECK(tml_forecaster_refit(f, daily, vs, 30, NULL, 0, &g) == TML_STATUS_INVALID_ARGUMENT && g == NULL
              && last_error_contains("frequency"),
          "refit on daily data");
}

static void test_error_paths(TmlForecaster *f) {
    TmlForecaster *g = NULL;
    int64_t out_t[4];
    double out_f[4], levels[1] = {80.0}, lo[4], up[4];
    CHECK(tml_forecaster_fit(NULL, vs, 10, NULL, 0, NULL, &g) == TML_STATUS_NULL_POINTER, "NULL timestamps");
    CHECK(tml_forecaster_fit(ts, vs, N, lengths, SERIES, NULL, &g) == TML_STATUS_INVALID_ARGUMENT
              && last_error_contains("add up"), "lengths mismatch");
    CHECK(tml_forecaster_fit(ts, vs, N, NULL, 0, "{not json", &g) == TML_STATUS_PARSE_ERROR, "bad json");
    CHECK(tml_forecaster_fit(ts, vs, N, NULL, 0, "{\"horizon\": 3}", &g) == TML_STATUS_PARSE_ERROR,
          "unknown parameter");
    CHECK(tml_forecaster_fit(NULL, NULL, 0, NULL, 0, NULL, &g) == TML_STATUS_INVALID_ARGUMENT && g == NULL,
          "nothing to fit");
    CHECK(tml_forecaster_fit(ts, vs, N, NULL, 0, NULL, NULL) == TML_STATUS_NULL_POINTER, "NULL out");
    CHECK(tml_forecaster_fit(ts, vs, 1, NULL, 0, NULL, &g) == TML_STATUS_INVALID_ARGUMENT && g == NULL
              && last_error_contains("frequency"), "one point");
    double all_nan[48];
    for (int i = 0; i < 48; i++) all_nan[i] = NAN;
    CHECK(tml_forecaster_fit(ts, all_nan, 48, NULL, 0, "{\"synthetic_tenants\": 0}", &g)
              == TML_STATUS_INVALID_ARGUMENT && g == NULL && last_error_contains("present values"),
          "every value missing");

    CHECK(tml_forecaster_forecast(NULL, ts, vs, N, 0, 4, NULL, 0, 0.0, out_t, out_f, NULL, NULL, NULL, NULL)
              == TML_STATUS_NULL_POINTER, "NULL forecaster");
    CHECK(tml_forecaster_forecast(f, ts, vs, N, 0, 0, NULL, 0, 0.0, out_t, out_f, NULL, NULL, NULL, NULL)
              == TML_STATUS_INVALID_ARGUMENT && last_error_contains("horizon"), "horizon 0");
    CHECK(tml_forecaster_forecast(f, ts, vs, N, 0, 100000000, NULL, 0, 0.0, out_t, out_f, NULL, NULL, NULL,
                                  NULL) == TML_STATUS_INVALID_ARGUMENT && last_error_contains("horizon"),
          "absurd horizon (checked before any output is written)");
    CHECK(tml_forecaster_forecast(f, ts, vs, N, 0, 4, levels, 1, 0.0, out_t, out_f, NULL, up, NULL, NULL)
              == TML_STATUS_NULL_POINTER, "NULL lower with levels");
    double bad_level[1] = {100.0};
    CHECK(tml_forecaster_forecast(f, ts, vs, N, 0, 4, bad_level, 1, 0.0, out_t, out_f, lo, up, NULL, NULL)
              == TML_STATUS_INVALID_ARGUMENT, "level 100");
    double nan_level[1] = {NAN};
    CHECK(tml_forecaster_forecast(f, ts, vs, N, 0, 4, nan_level, 1, 0.0, out_t, out_f, lo, up, NULL, NULL)
              == TML_STATUS_INVALID_ARGUMENT, "level NaN");
    double inf_values[2] = {1.0, INFINITY};
    CHECK(tml_forecaster_forecast(f, ts, inf_values, 2, 0, 4, NULL, 0, 0.0, out_t, out_f, NULL, NULL, NULL, NULL)
              == TML_STATUS_INVALID_ARGUMENT && last_error_contains("finite"), "infinite value");
    int64_t off_grid[2] = {START, START + 1800};
    double two[2] = {1.0, 2.0};
    CHECK(tml_forecaster_forecast(f, off_grid, two, 2, 0, 4, NULL, 0, 0.0, out_t, out_f, NULL, NULL, NULL, NULL)
              == TML_STATUS_INVALID_ARGUMENT, "off-grid history");
    CHECK(tml_forecaster_forecast(f, ts, vs, N, 0, 4, NULL, 0, 0.0, NULL, out_f, NULL, NULL, NULL, NULL)
              == TML_STATUS_NULL_POINTER, "NULL out_timestamps");
    CHECK(tml_forecaster_forecast(f, NULL, NULL, 0, INT64_MAX - 10, 4, NULL, 0, 0.0, out_t, out_f, NULL, NULL,
                                  NULL, NULL) == TML_STATUS_INVALID_ARGUMENT, "start past year 9999");
    double nan_only[1] = {NAN};
    CHECK(tml_forecast_fallback(ts, nan_only, 1, HOUR, NULL, 4, NULL, 0, out_t, out_f, NULL, NULL)
              == TML_STATUS_INVALID_ARGUMENT, "fallback without a present value");
    tml_forecaster_free(NULL);
}

/* The forecaster stores its training features: a tenant like the training ones does not
 * drift as a whole, flat usage does; bad input is refused. */
static void test_feature_drift(TmlForecaster *f) {
    char *json = NULL;
    TmlStatus st = tml_forecaster_feature_drift_json(f, ts, vs, N, NULL, &json);
    CHECK(st == TML_STATUS_OK && json && strstr(json, "\"dataset_drift\":false"),
          "same tenant -> %d %.200s", st, json ? json : "(null)");
    tml_string_free(json);
    json = NULL;
    static double flat[N];
    for (int i = 0; i < N; i++) flat[i] = 20.0 + (i % 5) * 0.1;
    st = tml_forecaster_feature_drift_json(f, ts, flat, N, "{\"drift_share\": 0.3}", &json);
    CHECK(st == TML_STATUS_OK && json && strstr(json, "\"dataset_drift\":true"),
          "flat usage -> %d %.200s", st, json ? json : "(null)");
    tml_string_free(json);
    json = NULL;
    CHECK(tml_forecaster_feature_drift_json(f, ts, vs, 0, NULL, &json) == TML_STATUS_INVALID_ARGUMENT
              && json == NULL && last_error_contains("empty"), "empty history");
    CHECK(tml_forecaster_feature_drift_json(f, ts, vs, N, "{\"bogus\": 1}", &json)
              == TML_STATUS_PARSE_ERROR, "unknown config field");
    CHECK(tml_forecaster_feature_drift_json(NULL, ts, vs, N, NULL, &json) == TML_STATUS_NULL_POINTER,
          "NULL forecaster");
    CHECK(tml_forecaster_feature_drift_json(f, ts, vs, N, NULL, NULL) == TML_STATUS_NULL_POINTER,
          "NULL out");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    make_data();
    TmlForecaster *f = fit();
    if (f != NULL) {
        test_forecast(f);
        test_feature_drift(f);
        test_persistence(f, argv[1]);
        test_refit(f);
        test_error_paths(f);
        tml_forecaster_free(f);
    }
    test_fallback_and_backtest();
    printf("forecast_test: %d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
