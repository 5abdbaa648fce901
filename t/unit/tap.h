/*
 * nginx-gamma: a minimal TAP producer for the C unit tests.
 */

#ifndef GM_TAP_H
#define GM_TAP_H


#include <stdio.h>
#include <stdarg.h>
#include <string.h>


static int  tap_n;
static int  tap_failed;


#define ok(cond, ...)                                                        \
    tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, want, ...)                                               \
    do {                                                                     \
        long long  g_ = (long long) (got), w_ = (long long) (want);          \
        if (!tap_ok(g_ == w_, __FILE__, __LINE__, __VA_ARGS__)) {            \
            printf("#   got: %lld\n#   expected: %lld\n", g_, w_);           \
        }                                                                    \
    } while (0)

#define is_str(got, want, ...)                                               \
    do {                                                                     \
        const char  *g_ = (got), *w_ = (want);                               \
        int  e_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;               \
        if (!tap_ok(e_, __FILE__, __LINE__, __VA_ARGS__)) {                  \
            printf("#   got: '%s'\n#   expected: '%s'\n",                    \
                   g_ ? g_ : "(null)", w_ ? w_ : "(null)");                  \
        }                                                                    \
    } while (0)


static int __attribute__((format(printf, 4, 5)))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    tap_n++;
    printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");

    if (!pass) {
        tap_failed++;
        printf("#   Failed at %s line %d.\n", file, line);
    }

    fflush(stdout);

    return pass;
}


static int
done_testing(void)
{
    printf("1..%d\n", tap_n);

    return tap_failed ? 1 : 0;
}


#endif /* GM_TAP_H */
