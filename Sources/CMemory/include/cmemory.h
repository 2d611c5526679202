#ifndef CMEMORY_H
#define CMEMORY_H

/* Returns memory that malloc holds but no longer uses to the system.
   glibc keeps the high-water mark of a burst otherwise. */
#if defined(__GLIBC__)
#include <malloc.h>
static inline void cmemory_release_free_memory(void) { malloc_trim(0); }
#else
static inline void cmemory_release_free_memory(void) {}
#endif

#endif
