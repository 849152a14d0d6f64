/* Marks for counting instructions with valgrind's callgrind from Python.
 *
 * benchmarks/instructions.py compiles this into a small shared library and
 * calls it through ctypes: zero the counters before a batch of warm invokes,
 * dump them after it, so that one valgrind process measures every candidate
 * without its interpreter start and imports in the figure. Outside valgrind
 * the client requests are no-ops.
 */
#include <valgrind/callgrind.h>

void marks_zero(void) { CALLGRIND_ZERO_STATS; }

void marks_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
