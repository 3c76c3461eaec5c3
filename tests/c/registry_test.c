/*
 * Drives the model registry through the C ABI: save model bytes (a churn predictor's),
 * load them back by version and as the promoted one, list, promote, roll back, retain,
 * check a feature schema, survive a corrupted and a truncated model file and a damaged
 * pointer, and forked writer processes saving at once. Bad input: NULL pointers, bad names,
 * bytes that are not a model file, malformed metadata JSON. Frees everything, so valgrind
 * reports no leak. argv[1] is a scratch directory. Exits non-zero on a failure.
 */
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
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

static int count(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = haystack; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

/* A rules-only churn predictor's model file; `version` makes the bytes differ. */
static TmlBytes churn_bytes(int version) {
    char params[128];
    snprintf(params, sizeof params, "{\"name\": \"churn-c\", \"version\": %d}", version);
    TmlChurnPredictor *p = NULL;
    TmlBytes bytes = {NULL, 0};
    CHECK(tml_churn_rules_only(params, &p) == TML_STATUS_OK, "rules-only predictor");
    CHECK(tml_churn_to_bytes(p, &bytes) == TML_STATUS_OK, "to bytes");
    tml_churn_free(p);
    return bytes;
}

static uint64_t save(const TmlRegistry *reg, const char *name, int model_version) {
    TmlBytes b = churn_bytes(model_version);
    uint64_t v = 0;
    TmlStatus s = tml_registry_save_bytes(reg, name, b.data, b.len,
                                          "{\"config\": {\"source\": \"c\"}}", &v);
    CHECK(s == TML_STATUS_OK, "save %s: status %d", name, (int)s);
    tml_bytes_free(b.data, b.len);
    return v;
}

/* The model_version stored in a loaded churn predictor, or -1. */
static int loaded_model_version(const TmlRegistry *reg, const char *name, uint64_t version) {
    TmlBytes b = {NULL, 0};
    if (tml_registry_load_bytes(reg, name, version, NULL, &b, NULL) != TML_STATUS_OK) {
        return -1;
    }
    TmlChurnPredictor *p = NULL;
    int result = -1;
    if (tml_churn_from_bytes(b.data, b.len, &p) == TML_STATUS_OK) {
        char *info = NULL;
        if (tml_churn_info_json(p, &info) == TML_STATUS_OK) {
            const char *at = strstr(info, "\"version\":");
            result = at ? atoi(at + strlen("\"version\":")) : -1;
            tml_string_free(info);
        }
        tml_churn_free(p);
    }
    tml_bytes_free(b.data, b.len);
    return result;
}

static void damage(const char *root, const char *name, const char *file, long at, bool cut) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", root, name, file);
    if (cut) {
        CHECK(truncate(path, at) == 0, "truncate %s", path);
        return;
    }
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL, "open %s", path);
    if (f == NULL) {
        return;
    }
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
}

static void test_round_trip_promote_rollback_retain(const TmlRegistry *reg) {
    for (int i = 1; i <= 4; i++) {
        CHECK(save(reg, "churn", 10 + i) == (uint64_t)i, "version %d", i);
    }
    /* Nothing promoted: version 0 is the newest. */
    uint64_t current = 99;
    CHECK(tml_registry_current(reg, "churn", &current) == TML_STATUS_OK && current == 0,
          "no current yet: %llu", (unsigned long long)current);
    CHECK(loaded_model_version(reg, "churn", 0) == 14, "newest");
    CHECK(loaded_model_version(reg, "churn", 2) == 12, "version 2");

    CHECK(tml_registry_promote(reg, "churn", 2) == TML_STATUS_OK, "promote 2");
    CHECK(tml_registry_promote(reg, "churn", 3) == TML_STATUS_OK, "promote 3");
    CHECK(loaded_model_version(reg, "churn", 0) == 13, "promoted 3");
    uint64_t back = 0;
    CHECK(tml_registry_rollback(reg, "churn", &back) == TML_STATUS_OK && back == 2, "rollback");
    CHECK(loaded_model_version(reg, "churn", 0) == 12, "rolled back to 2");
    CHECK(tml_registry_rollback(reg, "churn", &back) == TML_STATUS_INVALID_ARGUMENT,
          "nothing further to roll back to");

    TmlBytes b = {NULL, 0};
    char *info = NULL;
    CHECK(tml_registry_load_bytes(reg, "churn", 0, NULL, &b, &info) == TML_STATUS_OK, "load");
    CHECK(info != NULL && strstr(info, "\"model_type\":\"churn-predictor\"") != NULL, "%s", info);
    CHECK(strstr(info, "\"config\":{\"source\":\"c\"}") != NULL, "%s", info);
    /* The schema hash just read is accepted; another one is a schema mismatch. */
    char hash[64] = {0};
    const char *at = strstr(info, "\"feature_schema_hash\":\"");
    CHECK(at != NULL, "hash in %s", info);
    if (at != NULL) {
        at += strlen("\"feature_schema_hash\":\"");
        size_t n = strcspn(at, "\"");
        memcpy(hash, at, n < sizeof hash - 1 ? n : sizeof hash - 1);
    }
    tml_string_free(info);
    tml_bytes_free(b.data, b.len);
    CHECK(tml_registry_load_bytes(reg, "churn", 0, hash, &b, NULL) == TML_STATUS_OK, "same hash");
    tml_bytes_free(b.data, b.len);
    CHECK(tml_registry_load_bytes(reg, "churn", 0, "fnv1a64:0000000000000000", &b, NULL) ==
              TML_STATUS_SCHEMA_MISMATCH, "other hash");

    size_t removed = 0;
    CHECK(tml_registry_retain(reg, "churn", 2, &removed) == TML_STATUS_OK && removed == 1,
          "retain 2 keeps 3, 4 and promoted 2: removed %zu", removed);
    char *list = NULL;
    CHECK(tml_registry_list_json(reg, "churn", &list) == TML_STATUS_OK, "list");
    CHECK(count(list, "\"version\":") == 3 * 2, "3 entries (entry + info): %s", list);
    CHECK(strstr(list, "\"version\":2,\"current\":true") != NULL, "%s", list);
    tml_string_free(list);
    CHECK(tml_registry_retain(reg, "churn", 0, NULL) == TML_STATUS_INVALID_ARGUMENT, "keep 0");

    char *names = NULL;
    CHECK(tml_registry_names_json(reg, &names) == TML_STATUS_OK, "names");
    CHECK(names != NULL && strcmp(names, "[\"churn\"]") == 0, "%s", names);
    tml_string_free(names);
}

static void test_damage(const TmlRegistry *reg, const char *root) {
    for (int i = 1; i <= 3; i++) {
        save(reg, "damaged", i);
    }
    damage(root, "damaged", "2.tml", 60, false);
    damage(root, "damaged", "3.tml", 30, true);
    TmlBytes b = {NULL, 0};
    CHECK(tml_registry_load_bytes(reg, "damaged", 2, NULL, &b, NULL) ==
              TML_STATUS_BAD_MODEL_FILE && last_error_contains("2.tml"), "corrupted");
    CHECK(tml_registry_load_bytes(reg, "damaged", 3, NULL, &b, NULL) ==
              TML_STATUS_BAD_MODEL_FILE && last_error_contains("3.tml"), "truncated");
    CHECK(b.data == NULL, "nothing written on failure");
    CHECK(tml_registry_promote(reg, "damaged", 2) == TML_STATUS_BAD_MODEL_FILE, "promote bad");
    CHECK(loaded_model_version(reg, "damaged", 1) == 1, "version 1 still loads");
    char *list = NULL;
    CHECK(tml_registry_list_json(reg, "damaged", &list) == TML_STATUS_OK, "list");
    CHECK(count(list, "\"error\":null") == 1, "two marked damaged: %s", list);
    tml_string_free(list);

    CHECK(tml_registry_promote(reg, "damaged", 1) == TML_STATUS_OK, "promote 1");
    char path[1024];
    snprintf(path, sizeof path, "%s/damaged/CURRENT", root);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "open CURRENT");
    if (f != NULL) {
        fputs("{\"name\": \"damaged\", \"cur", f);
        fclose(f);
    }
    CHECK(tml_registry_load_bytes(reg, "damaged", 0, NULL, &b, NULL) ==
              TML_STATUS_REGISTRY_CORRUPT, "damaged pointer");
    CHECK(loaded_model_version(reg, "damaged", 1) == 1, "explicit version needs no pointer");
}

static void test_bad_input(const TmlRegistry *reg) {
    TmlBytes good = churn_bytes(1);
    uint64_t v = 0;
    TmlBytes b = {NULL, 0};
    char *json = NULL;
    CHECK(tml_registry_open(NULL, &(TmlRegistry *){NULL}) == TML_STATUS_NULL_POINTER, "root");
    CHECK(tml_registry_open("/tmp", NULL) == TML_STATUS_NULL_POINTER, "out");
    CHECK(tml_registry_save_bytes(NULL, "m", good.data, good.len, NULL, &v) ==
              TML_STATUS_NULL_POINTER, "handle");
    CHECK(tml_registry_save_bytes(reg, NULL, good.data, good.len, NULL, &v) ==
              TML_STATUS_NULL_POINTER, "name");
    CHECK(tml_registry_save_bytes(reg, "m", NULL, 5, NULL, &v) == TML_STATUS_NULL_POINTER,
          "data");
    CHECK(tml_registry_save_bytes(reg, "m", good.data, good.len, NULL, NULL) ==
              TML_STATUS_NULL_POINTER, "out_version");
    CHECK(tml_registry_save_bytes(reg, "../m", good.data, good.len, NULL, &v) ==
              TML_STATUS_INVALID_ARGUMENT, "name with a path");
    CHECK(tml_registry_save_bytes(reg, "m", good.data, good.len / 2, NULL, &v) ==
              TML_STATUS_BAD_MODEL_FILE, "truncated bytes");
    CHECK(tml_registry_save_bytes(reg, "m", (const uint8_t *)"hello", 5, NULL, &v) ==
              TML_STATUS_BAD_MODEL_FILE, "foreign bytes");
    CHECK(tml_registry_save_bytes(reg, "m", NULL, 0, NULL, &v) == TML_STATUS_BAD_MODEL_FILE,
          "empty");
    CHECK(tml_registry_save_bytes(reg, "m", good.data, good.len, "{\"config\":", &v) ==
              TML_STATUS_PARSE_ERROR, "malformed metadata");
    CHECK(tml_registry_save_bytes(reg, "m", good.data, good.len, "{\"typo\": 1}", &v) ==
              TML_STATUS_PARSE_ERROR, "unknown metadata field");
    CHECK(tml_registry_load_bytes(reg, "m", 0, NULL, &b, NULL) == TML_STATUS_INVALID_ARGUMENT,
          "nothing saved under m");
    CHECK(tml_registry_load_bytes(reg, "churn", 0, NULL, NULL, NULL) == TML_STATUS_NULL_POINTER,
          "out_bytes");
    CHECK(tml_registry_load_bytes(reg, "churn", 77, NULL, &b, NULL) ==
              TML_STATUS_INVALID_ARGUMENT, "no such version");
    CHECK(tml_registry_list_json(reg, "churn", NULL) == TML_STATUS_NULL_POINTER, "list out");
    CHECK(tml_registry_list_json(reg, "", &json) == TML_STATUS_INVALID_ARGUMENT, "empty name");
    CHECK(tml_registry_promote(reg, "churn", 0) == TML_STATUS_INVALID_ARGUMENT, "version 0");
    CHECK(tml_registry_rollback(reg, "churn", NULL) == TML_STATUS_NULL_POINTER, "rollback out");
    CHECK(tml_registry_current(NULL, "churn", &v) == TML_STATUS_NULL_POINTER, "current");
    tml_registry_free(NULL);
    tml_bytes_free(good.data, good.len);
}

/* Forked writers save at once; every save gets its own version. */
static void test_forked_writers(const char *root) {
    enum { WRITERS = 3, SAVES = 4 };
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            TmlRegistry *reg = NULL;
            int ok = tml_registry_open(root, &reg) == TML_STATUS_OK;
            for (int i = 0; ok && i < SAVES; i++) {
                TmlBytes b = churn_bytes(100 * w + i);
                uint64_t v = 0;
                ok = tml_registry_save_bytes(reg, "forked", b.data, b.len, NULL, &v) ==
                     TML_STATUS_OK;
                tml_bytes_free(b.data, b.len);
            }
            tml_registry_free(reg);
            _exit(ok ? 0 : 1);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;
        CHECK(waitpid(pids[w], &status, 0) == pids[w] && WIFEXITED(status) &&
                  WEXITSTATUS(status) == 0, "writer %d", w);
    }
    TmlRegistry *reg = NULL;
    CHECK(tml_registry_open(root, &reg) == TML_STATUS_OK, "reopen");
    char *list = NULL;
    CHECK(tml_registry_list_json(reg, "forked", &list) == TML_STATUS_OK, "list");
    CHECK(count(list, "\"error\":null") == WRITERS * SAVES, "%s", list);
    char needle[64];
    snprintf(needle, sizeof needle, "\"version\":%d,\"current\"", WRITERS * SAVES);
    CHECK(strstr(list, needle) != NULL, "versions 1..%d", WRITERS * SAVES);
    tml_string_free(list);
    tml_registry_free(reg);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    char root[1024];
    snprintf(root, sizeof root, "%s/registry", argv[1]);
    TmlRegistry *reg = NULL;
    CHECK(tml_registry_open(root, &reg) == TML_STATUS_OK, "open %s", root);
    test_round_trip_promote_rollback_retain(reg);
    test_damage(reg, root);
    test_bad_input(reg);
    tml_registry_free(reg);
    test_forked_writers(root);
    printf("registry_test: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
