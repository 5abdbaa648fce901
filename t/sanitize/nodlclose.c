/*
 * nginx-gamma: preloaded by make test-asan and make test-valgrind only.
 * nginx unloads the module (dlclose) when it destroys the cycle at exit,
 * before the leak checker runs: the module's frames in a leak report
 * would read "<unknown module>".  Keeping every library loaded makes the
 * reports name the module's functions.  Nothing else changes.
 */

#include <stddef.h>


int dlclose(void *handle);


int
dlclose(void *handle)
{
    (void) handle;

    return 0;
}
