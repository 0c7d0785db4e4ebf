/*
 * aae_test.h - a minimal unit-test harness for C tests.
 *
 *   AAE_TEST(name) { AAE_CHECK(x == 1); AAE_CHECK_EQ_INT(a, b); }
 *   int main(void) { return aae_test_run_all(); }
 *
 * Each test executable prints one line per failed check and closes with
 * "N passed, N failed" (tests, not checks). It exits non-zero if any failed.
 */
#ifndef AAE_TEST_H
#define AAE_TEST_H

#include <stdio.h>
#include <string.h>

typedef void (*aae_test_fn)(void);
typedef struct aae_test_case {
    const char *name;
    aae_test_fn fn;
} aae_test_case;

#define AAE_TEST_MAX 512
static aae_test_case aae_test_cases[AAE_TEST_MAX];
static int aae_test_count;
static int aae_test_dropped; /* tests past AAE_TEST_MAX: never silently skipped */
static int aae_test_failed_checks;

#define AAE_TEST(name)                                                                                        \
    static void test_##name(void);                                                                            \
    __attribute__((constructor)) static void register_##name(void)                                            \
    {                                                                                                         \
        if (aae_test_count < AAE_TEST_MAX)                                                                    \
            aae_test_cases[aae_test_count++] = (aae_test_case){#name, test_##name};                           \
        else                                                                                                  \
            aae_test_dropped++;                                                                               \
    }                                                                                                         \
    static void test_##name(void)

#define AAE_CHECK(cond)                                                                                       \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            aae_test_failed_checks++;                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                          \
        }                                                                                                     \
    } while (0)

#define AAE_CHECK_EQ_INT(a, b)                                                                                \
    do {                                                                                                      \
        long long aae_a_ = (long long)(a), aae_b_ = (long long)(b);                                           \
        if (aae_a_ != aae_b_) {                                                                               \
            aae_test_failed_checks++;                                                                         \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, aae_a_,     \
                    aae_b_);                                                                                  \
        }                                                                                                     \
    } while (0)

#define AAE_CHECK_EQ_STR(a, b)                                                                                \
    do {                                                                                                      \
        const char *aae_a_ = (a), *aae_b_ = (b);                                                              \
        if (!aae_a_ || !aae_b_ || strcmp(aae_a_, aae_b_) != 0) {                                              \
            aae_test_failed_checks++;                                                                         \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b,         \
                    aae_a_ ? aae_a_ : "(null)", aae_b_ ? aae_b_ : "(null)");                                  \
        }                                                                                                     \
    } while (0)

#define AAE_CHECK_CONTAINS(haystack, needle)                                                                  \
    do {                                                                                                      \
        const char *aae_h_ = (haystack), *aae_n_ = (needle);                                                  \
        if (!aae_h_ || !strstr(aae_h_, aae_n_)) {                                                             \
            aae_test_failed_checks++;                                                                         \
            fprintf(stderr, "%s:%d: expected \"%s\" to contain \"%s\"\n", __FILE__, __LINE__,                 \
                    aae_h_ ? aae_h_ : "(null)", aae_n_);                                                      \
        }                                                                                                     \
    } while (0)

static inline int aae_test_run_all(void)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < aae_test_count; i++) {
        int before = aae_test_failed_checks;
        aae_test_cases[i].fn();
        if (aae_test_failed_checks == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s\n", aae_test_cases[i].name);
        }
    }
    if (aae_test_dropped) { /* raise AAE_TEST_MAX */
        fprintf(stderr, "FAIL %d tests past AAE_TEST_MAX (%d) were not run\n", aae_test_dropped, AAE_TEST_MAX);
        failed += aae_test_dropped;
    }
    if (aae_test_count == 0) {
        fprintf(stderr, "FAIL no test registered\n");
        failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
