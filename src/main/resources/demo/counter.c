/* amber demo: counts, one number a line, four a second. Its count lives only in its memory. */
#include <stdio.h>
#include <time.h>

int main(void) {
    unsigned long n = 0;
    struct timespec quarter = {0, 250 * 1000 * 1000};
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        printf("%lu\n", ++n);
        nanosleep(&quarter, NULL);
    }
}
