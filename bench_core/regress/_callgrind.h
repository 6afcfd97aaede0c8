/* Callgrind client requests around one call, for bench_core.regress.instructions.
 *
 * Compiled with the requests when Valgrind's header is installed (Debian package
 * `valgrind`: /usr/include/valgrind/callgrind.h), as no-ops otherwise; a client
 * request is a few no-op instructions outside Valgrind, so this never costs a
 * native run anything measurable.  Valgrind's manual, "Callgrind: client request
 * reference" (CALLGRIND_START_INSTRUMENTATION, CALLGRIND_TOGGLE_COLLECT,
 * CALLGRIND_DUMP_STATS_AT).
 */
#ifndef KMBENCH_CALLGRIND_H
#define KMBENCH_CALLGRIND_H

#if defined(__has_include)
#  if __has_include(<valgrind/callgrind.h>)
#    include <valgrind/callgrind.h>
#    define KMB_HAVE_CALLGRIND 1
#  endif
#endif
#ifndef KMB_HAVE_CALLGRIND
#  define KMB_HAVE_CALLGRIND 0
#endif

/* Whether the client requests were compiled in. */
static inline int kmb_have_callgrind(void) { return KMB_HAVE_CALLGRIND; }

/* 1 when running under Valgrind (any tool), 0 natively or without the header. */
static inline int kmb_running_on_valgrind(void) {
#if KMB_HAVE_CALLGRIND
    return RUNNING_ON_VALGRIND ? 1 : 0;
#else
    return 0;
#endif
}

/* Switch instrumentation on and start collecting (run with --instr-atstart=no
 * --collect-atstart=no: everything before this is neither simulated nor counted). */
static inline void kmb_region_start(void) {
#if KMB_HAVE_CALLGRIND
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_TOGGLE_COLLECT;
#endif
}

/* Stop collecting, write the counts of the region as one dump labelled `label`
 * and switch instrumentation off again. */
static inline void kmb_region_stop(const char *label) {
#if KMB_HAVE_CALLGRIND
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT(label);
    CALLGRIND_STOP_INSTRUMENTATION;
#else
    (void)label;
#endif
}

#endif
