#include "moviola_kernels.h"
#include <immintrin.h>
#include <math.h>

/* exp(x) by Cody–Waite reduction x = n·ln2 + r and a degree-6 polynomial for e^r (Cephes
   expf coefficients), the same scheme in every implementation. */
#define EXP_HI 88.3762626647949f
#define EXP_LO -87.33654f
#define LOG2E 1.44269504088896341f
#define C1 0.693359375f
#define C2 -2.12194440e-4f

static inline float exp_scalar(float x) {
    x = x < EXP_LO ? EXP_LO : (x > EXP_HI ? EXP_HI : x);
    float n = nearbyintf(x * LOG2E);
    float r = x - n * C1;
    r = r - n * C2;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return ldexpf(p, (int)n);
}

__attribute__((target("avx512f")))
static inline __m512 exp_avx512(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(EXP_HI)), _mm512_set1_ps(EXP_LO));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(C1), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(C2), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

__attribute__((target("avx2,fma")))
static inline __m256 exp_avx2(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(EXP_HI)), _mm256_set1_ps(EXP_LO));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(C1), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(C2), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static int level = 0;

int moviola_kernel_level(void) {
    if (level == 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) level = 3;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = 2;
        else level = 1;
    }
    return level;
}

__attribute__((target("avx512f")))
static float exp_sum_avx512(float *p, long count, float shift) {
    __m512 s = _mm512_set1_ps(shift), total = _mm512_setzero_ps();
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 e = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(p + i), s));
        _mm512_storeu_ps(p + i, e);
        total = _mm512_add_ps(total, e);
    }
    if (i < count) {
        __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        __m512 e = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, p + i), s));
        _mm512_mask_storeu_ps(p + i, m, e);
        total = _mm512_mask_add_ps(total, m, total, e);
    }
    return _mm512_reduce_add_ps(total);
}

__attribute__((target("avx2,fma")))
static float exp_sum_avx2(float *p, long count, float shift) {
    __m256 s = _mm256_set1_ps(shift), total = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(p + i), s));
        _mm256_storeu_ps(p + i, e);
        total = _mm256_add_ps(total, e);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for (; i < count; i++) { p[i] = exp_scalar(p[i] - shift); sum += p[i]; }
    return sum;
}

float moviola_exp_shifted_sum(float *p, long count, float shift) {
    switch (moviola_kernel_level()) {
    case 3: return exp_sum_avx512(p, count, shift);
    case 2: return exp_sum_avx2(p, count, shift);
    default: {
        float sum = 0;
        for (long i = 0; i < count; i++) { p[i] = exp_scalar(p[i] - shift); sum += p[i]; }
        return sum;
    }
    }
}

__attribute__((target("avx512f")))
static float max_avx512(const float *p, long count) {
    __m512 best = _mm512_set1_ps(-INFINITY);
    long i = 0;
    for (; i + 16 <= count; i += 16) best = _mm512_max_ps(best, _mm512_loadu_ps(p + i));
    if (i < count) best = _mm512_mask_max_ps(best, (__mmask16)((1u << (count - i)) - 1), best, _mm512_maskz_loadu_ps((__mmask16)((1u << (count - i)) - 1), p + i));
    return _mm512_reduce_max_ps(best);
}

float moviola_max(const float *p, long count) {
    if (moviola_kernel_level() == 3) return max_avx512(p, count);
    float best = -INFINITY;
    for (long i = 0; i < count; i++) best = p[i] > best ? p[i] : best;
    return best;
}

/* GELU-tanh: 0.5·x·(1 + tanh(u)) with tanh(u) = 1 − 2/(e^{2u} + 1). */
__attribute__((target("avx512f")))
static void gelu_avx512(float *p, long count) {
    const __m512 c0 = _mm512_set1_ps(0.7978845608028654f), c1 = _mm512_set1_ps(0.044715f);
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f), half = _mm512_set1_ps(0.5f);
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 x = _mm512_loadu_ps(p + i);
        __m512 u = _mm512_mul_ps(c0, _mm512_fmadd_ps(_mm512_mul_ps(c1, x), _mm512_mul_ps(x, x), x));
        __m512 t = _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(exp_avx512(_mm512_mul_ps(u, two)), one)));
        _mm512_storeu_ps(p + i, _mm512_mul_ps(_mm512_mul_ps(half, x), _mm512_add_ps(one, t)));
    }
    for (; i < count; i++) {
        float x = p[i], u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        p[i] = 0.5f * x * (1.0f + (1.0f - 2.0f / (exp_scalar(2.0f * u) + 1.0f)));
    }
}

void moviola_gelu_tanh(float *p, long count) {
    if (moviola_kernel_level() == 3) { gelu_avx512(p, count); return; }
    for (long i = 0; i < count; i++) {
        float x = p[i], u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        p[i] = 0.5f * x * (1.0f + (1.0f - 2.0f / (exp_scalar(2.0f * u) + 1.0f)));
    }
}

__attribute__((target("avx512f")))
static void silu_avx512(float *p, long count) {
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 x = _mm512_loadu_ps(p + i);
        _mm512_storeu_ps(p + i, _mm512_div_ps(x, _mm512_add_ps(one, exp_avx512(_mm512_sub_ps(zero, x)))));
    }
    for (; i < count; i++) p[i] = p[i] / (1.0f + exp_scalar(-p[i]));
}

void moviola_silu(float *p, long count) {
    if (moviola_kernel_level() == 3) { silu_avx512(p, count); return; }
    for (long i = 0; i < count; i++) p[i] = p[i] / (1.0f + exp_scalar(-p[i]));
}

#include <malloc.h>
void moviola_configure_allocator(void) {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
}
