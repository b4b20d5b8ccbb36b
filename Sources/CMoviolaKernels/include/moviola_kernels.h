#ifndef MOVIOLA_KERNELS_H
#define MOVIOLA_KERNELS_H
/* Vectorised elementary functions for Moviola's CPU kernels. Each picks AVX-512, AVX2+FMA or
   portable code once, at first use, from the CPU it runs on; results are identical from run to
   run on the same kind of CPU. Relative error of exp is below 3e-7. */
#ifdef __cplusplus
extern "C" {
#endif
/* p[i] = exp(p[i] - shift); returns the sum of the new values. */
float moviola_exp_shifted_sum(float *p, long count, float shift);
/* The largest of count values (-inf for none). */
float moviola_max(const float *p, long count);
/* In place: GELU with the tanh approximation. */
void moviola_gelu_tanh(float *p, long count);
/* In place: x * sigmoid(x). */
void moviola_silu(float *p, long count);
/* Keeps large freed blocks in the heap (glibc mallopt) so big buffers are not re-mapped per call. */
void moviola_configure_allocator(void);
/* Which implementation runs: 3 = AVX-512, 2 = AVX2+FMA, 1 = portable. */
int moviola_kernel_level(void);
#ifdef __cplusplus
}
#endif
#endif
