/*
 * fpu_regs: register state held live across the checkpoint.
 *
 * fpu_hold() loads every vector register (xmm0-15; ymm0-15 with AVX; zmm0-31 and k0-7 with
 * AVX-512), r8-r15/rbx/rbp, three x87 stack slots, a non-default MXCSR and x87 control word, then
 * spins on a flag that the SIGTERM handler sets (the kernel saves and restores the whole xstate
 * around the handler), then stores all of it back for comparison. The spin loop (pause; cmp;
 * je) touches none of the registers it holds.
 *
 * Buffer layout (in and out):
 *   0     zmm0..zmm31, 64 bytes each (xmm in the low 16, ymm in the low 32)
 *   2048  k0..k7, 8 bytes each
 *   2112  r8..r15, rbx, rbp, 8 bytes each
 *   2192  MXCSR (4 bytes), 2196 x87 control word (2 bytes)
 *   2208  x87 st0, st1, st2 as 80-bit values, 16 bytes apart
 */
#define _GNU_SOURCE
#include "amtest.h"

#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#define BUF 2304
#define OFF_K 2048
#define OFF_GP 2112
#define OFF_MXCSR 2192
#define OFF_FCW 2196
#define OFF_ST 2208

#define MXCSR_TEST 0xffe0 /* all masked, round toward zero, FTZ, DAZ, PE flag set */
#define FCW_TEST 0x0a7f   /* all masked, double precision, round up */

void fpu_hold(const unsigned char *in, unsigned char *out, volatile sig_atomic_t *flag, int level);

#define X(n) "movdqu " #n "*64(%rdi), %xmm" #n "\n"
#define XS(n) "movdqu %xmm" #n ", " #n "*64(%rsi)\n"
#define Y(n) "vmovdqu " #n "*64(%rdi), %ymm" #n "\n"
#define YS(n) "vmovdqu %ymm" #n ", " #n "*64(%rsi)\n"
#define Z(n) "vmovdqu64 " #n "*64(%rdi), %zmm" #n "\n"
#define ZS(n) "vmovdqu64 %zmm" #n ", " #n "*64(%rsi)\n"
#define K(n) "kmovq 2048+" #n "*8(%rdi), %k" #n "\n"
#define KS(n) "kmovq %k" #n ", 2048+" #n "*8(%rsi)\n"
#define R16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define R32(M) R16(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27) M(28) M(29) M(30) M(31)

__asm__(
    ".text\n"
    ".globl fpu_hold\n"
    ".type fpu_hold, @function\n"
    "fpu_hold:\n" /* rdi = in, rsi = out, rdx = flag, ecx = level */
    "push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "ldmxcsr 2192(%rdi)\n"
    "fldcw 2196(%rdi)\n"
    "fldt 2240(%rdi)\n fldt 2224(%rdi)\n fldt 2208(%rdi)\n"
    "cmp $2, %ecx\n jge 3f\n"
    "cmp $1, %ecx\n jge 2f\n"
    R16(X) "jmp 4f\n"
    "2:\n" R16(Y) "jmp 4f\n"
    "3:\n" R32(Z) K(0) K(1) K(2) K(3) K(4) K(5) K(6) K(7)
    "4:\n"
    "mov 2112(%rdi), %r8\n mov 2120(%rdi), %r9\n mov 2128(%rdi), %r10\n mov 2136(%rdi), %r11\n"
    "mov 2144(%rdi), %r12\n mov 2152(%rdi), %r13\n mov 2160(%rdi), %r14\n mov 2168(%rdi), %r15\n"
    "mov 2176(%rdi), %rbx\n mov 2184(%rdi), %rbp\n"
    "5:\n pause\n cmpl $0, (%rdx)\n je 5b\n"
    "mov %r8, 2112(%rsi)\n mov %r9, 2120(%rsi)\n mov %r10, 2128(%rsi)\n mov %r11, 2136(%rsi)\n"
    "mov %r12, 2144(%rsi)\n mov %r13, 2152(%rsi)\n mov %r14, 2160(%rsi)\n mov %r15, 2168(%rsi)\n"
    "mov %rbx, 2176(%rsi)\n mov %rbp, 2184(%rsi)\n"
    "cmp $2, %ecx\n jge 7f\n"
    "cmp $1, %ecx\n jge 6f\n"
    R16(XS) "jmp 8f\n"
    "6:\n" R16(YS) "vzeroupper\n jmp 8f\n"
    "7:\n" R32(ZS) KS(0) KS(1) KS(2) KS(3) KS(4) KS(5) KS(6) KS(7) "vzeroupper\n"
    "8:\n"
    "stmxcsr 2192(%rsi)\n"
    "fnstcw 2196(%rsi)\n"
    "fstpt 2208(%rsi)\n fstpt 2224(%rsi)\n fstpt 2240(%rsi)\n"
    "pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
    "ret\n"
    ".size fpu_hold, .-fpu_hold\n");

static unsigned long long xgetbv0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

/* 0: SSE only, 1: AVX, 2: AVX-512 F+BW (kmovq needs BW) */
static int vector_level(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
        return 0;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6)
        return 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX512F) && (b & bit_AVX512BW) &&
        (xcr0 & 0xe6) == 0xe6)
        return 2;
    return 1;
}

static const char *const level_name[] = { "SSE (xmm0-15)", "AVX (ymm0-15)", "AVX-512 (zmm0-31, k0-7)" };

static void compare(const unsigned char *in, const unsigned char *out, int level)
{
    int nvec = level == 2 ? 32 : 16, width = level == 2 ? 64 : level == 1 ? 32 : 16;
    const char *reg = level == 2 ? "zmm" : level == 1 ? "ymm" : "xmm";
    for (int r = 0; r < nvec; r++)
        for (int b = 0; b < width; b++)
            CHECK(in[r * 64 + b] == out[r * 64 + b], "%s%d byte %d: 0x%02x, expected 0x%02x", reg, r, b,
                  out[r * 64 + b], in[r * 64 + b]);
    if (level == 2)
        for (int k = 0; k < 8; k++)
            CHECK(memcmp(in + OFF_K + 8 * k, out + OFF_K + 8 * k, 8) == 0, "k%d differs", k);
    static const char *const gp[] = { "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rbx", "rbp" };
    for (int g = 0; g < 10; g++) {
        unsigned long long x, y;
        memcpy(&x, in + OFF_GP + 8 * g, 8);
        memcpy(&y, out + OFF_GP + 8 * g, 8);
        CHECK(x == y, "%s: 0x%llx, expected 0x%llx", gp[g], y, x);
    }
    unsigned int mxcsr;
    unsigned short fcw;
    memcpy(&mxcsr, out + OFF_MXCSR, 4);
    memcpy(&fcw, out + OFF_FCW, 2);
    CHECK(mxcsr == MXCSR_TEST, "MXCSR 0x%x, expected 0x%x", mxcsr, MXCSR_TEST);
    CHECK(fcw == FCW_TEST, "x87 control word 0x%x, expected 0x%x", fcw, FCW_TEST);
    for (int s = 0; s < 3; s++)
        CHECK(memcmp(in + OFF_ST + 16 * s, out + OFF_ST + 16 * s, 10) == 0, "x87 st%d differs", s);
}

int main(int argc, char **argv)
{
    test_init(argc, argv);
    static unsigned char in[BUF] __attribute__((aligned(64))), out[BUF] __attribute__((aligned(64)));
    pattern_fill(in, OFF_MXCSR, 77);
    unsigned int mxcsr = MXCSR_TEST;
    unsigned short fcw = FCW_TEST;
    memcpy(in + OFF_MXCSR, &mxcsr, 4);
    memcpy(in + OFF_FCW, &fcw, 2);
    long double st[3] = { 3.14159265358979323846264338327950288L, -2.5e-300L, 1.0L / 3.0L };
    for (int s = 0; s < 3; s++)
        memcpy(in + OFF_ST + 16 * s, &st[s], 10);
    memset(out, 0xa5, sizeof(out));
    int level = vector_level();
    test_msg("holding %s", level_name[level]);

    test_ready();
    fpu_hold(in, out, &test_stop, level); /* returns once SIGTERM arrived */

    /* back to the ABI's defaults before any C floating point */
    unsigned int def_mxcsr = 0x1f80;
    unsigned short def_fcw = 0x037f;
    __asm__ volatile("ldmxcsr %0\n fldcw %1" : : "m"(def_mxcsr), "m"(def_fcw));
    compare(in, out, level);
    pass();
}
