/* Fused elementwise kernels for gradstep's hot loops (optional; NumPy fallback in Python).
 *
 * Each kernel does in one pass over memory what the NumPy version does in
 * many: Adam's update reads g, m, v, θ once and writes m, v, θ once instead of
 * ~12 array passes. The arithmetic is the NumPy fallback's, operation for
 * operation and rounded the same way (built with -ffp-contract=off, no
 * fast-math), so both paths give bit-identical results.
 *
 * Arrays arrive through the buffer protocol (no NumPy headers needed): 1-D,
 * C-contiguous, float32 or float64, all of one dtype and length. The GIL is
 * released while a kernel runs, so callers may split the work over threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* One build runs everywhere; AVX2/AVX-512 machines get 8/16-wide loops (glibc picks at load time). */
#define GS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GS_CLONES
#endif

#if defined(__GNUC__)
#define GS_INLINE static inline __attribute__((always_inline))
#else
#define GS_INLINE static inline
#endif

/* Weight-decay modes of Adam. */
enum { DECAY_NONE = 0, DECAY_L2 = 1, DECAY_DECOUPLED = 2 };

/* Adam (and AdamW) on n elements, the order of operations of gradstep/optim/adam.py:
 *   g ← −g if maximize;  θ ← θ·decay (AdamW) or g ← g + θ·l2 (L2)
 *   m ← m + (g − m)(1 − β1);  v ← v·β2 + g²(1 − β2);  v̂ ← max(v̂, v) if amsgrad
 *   θ ← θ + scale · m / (√v + eps)
 * The flags are compile-time constants at each call site, so every variant is
 * its own branch-free, vectorised loop. */
#define DEFINE_ADAM(T, NAME, SQRT)                                                              \
GS_INLINE void NAME##_body(T *restrict p, const T *restrict g, T *restrict m, T *restrict v,  \
                           T *restrict vmax, Py_ssize_t n, T one_minus_beta1, T beta2,         \
                           T one_minus_beta2, T eps, T scale, T l2, T decay,                   \
                           const int mode, const int maximize, const int amsgrad)              \
{                                                                                              \
    for (Py_ssize_t i = 0; i < n; i++) {                                                       \
        T gi = maximize ? -g[i] : g[i];                                                        \
        T pi = p[i];                                                                           \
        if (mode == DECAY_DECOUPLED) pi = pi * decay;                                          \
        else if (mode == DECAY_L2) gi = gi + pi * l2;                                          \
        T mi = m[i] + (gi - m[i]) * one_minus_beta1;                                           \
        T vi = v[i] * beta2 + (gi * gi) * one_minus_beta2;                                     \
        m[i] = mi;                                                                             \
        v[i] = vi;                                                                             \
        if (amsgrad) {                                                                         \
            T a = vmax[i];                                                                     \
            vi = (a >= vi || a != a) ? a : vi; /* np.maximum: NaN wins */                      \
            vmax[i] = vi;                                                                      \
        }                                                                                      \
        p[i] = pi + (mi / (SQRT(vi) + eps)) * scale;                                           \
    }                                                                                          \
}                                                                                              \
GS_CLONES static void NAME##_plain(T *restrict p, const T *restrict g, T *restrict m,         \
                                   T *restrict v, Py_ssize_t n, T b1, T b2, T b2c, T eps,      \
                                   T scale)                                                    \
{ NAME##_body(p, g, m, v, NULL, n, b1, b2, b2c, eps, scale, 0, 1, DECAY_NONE, 0, 0); }         \
GS_CLONES static void NAME##_decoupled(T *restrict p, const T *restrict g, T *restrict m,     \
                                       T *restrict v, Py_ssize_t n, T b1, T b2, T b2c, T eps,  \
                                       T scale, T decay)                                       \
{ NAME##_body(p, g, m, v, NULL, n, b1, b2, b2c, eps, scale, 0, decay, DECAY_DECOUPLED, 0, 0); }\
GS_CLONES static void NAME##_l2(T *restrict p, const T *restrict g, T *restrict m,            \
                                T *restrict v, Py_ssize_t n, T b1, T b2, T b2c, T eps,         \
                                T scale, T l2)                                                 \
{ NAME##_body(p, g, m, v, NULL, n, b1, b2, b2c, eps, scale, l2, 1, DECAY_L2, 0, 0); }          \
static void NAME##_general(T *restrict p, const T *restrict g, T *restrict m, T *restrict v,  \
                           T *restrict vmax, Py_ssize_t n, T b1, T b2, T b2c, T eps, T scale,  \
                           T l2, T decay, int mode, int maximize)                              \
{                                                                                              \
    /* The rare variants (maximize, amsgrad): one loop with the flags read at run time. */     \
    for (Py_ssize_t i = 0; i < n; i++)                                                         \
        NAME##_body(p + i, g + i, m + i, v + i, vmax ? vmax + i : NULL, 1, b1, b2, b2c, eps,   \
                    scale, l2, decay, mode, maximize, vmax != NULL);                           \
}                                                                                              \
static void NAME(T *p, const T *g, T *m, T *v, T *vmax, Py_ssize_t n, double beta1,           \
                 double beta2, double eps, double scale, double l2, double decay, int maximize) \
{                                                                                              \
    /* Scalars rounded to T first, as NumPy does with Python floats against a T array. */      \
    T b1 = (T)(1.0 - beta1), b2 = (T)beta2, b2c = (T)(1.0 - beta2), e = (T)eps, s = (T)scale;  \
    int mode = decay != 1.0 ? DECAY_DECOUPLED : (l2 != 0.0 ? DECAY_L2 : DECAY_NONE);           \
    if (vmax != NULL || maximize)                                                              \
        NAME##_general(p, g, m, v, vmax, n, b1, b2, b2c, e, s, (T)l2, (T)decay, mode, maximize);\
    else if (mode == DECAY_DECOUPLED) NAME##_decoupled(p, g, m, v, n, b1, b2, b2c, e, s, (T)decay);\
    else if (mode == DECAY_L2) NAME##_l2(p, g, m, v, n, b1, b2, b2c, e, s, (T)l2);             \
    else NAME##_plain(p, g, m, v, n, b1, b2, b2c, e, s);                                       \
}

DEFINE_ADAM(float, adam_f32, sqrtf)
DEFINE_ADAM(double, adam_f64, sqrt)

/* SGD with momentum/Nesterov/weight decay on n elements, the order of operations of
 * gradstep/optim/sgd.py (so both paths agree bit for bit):
 *   d = ±g (+ θ·λ: computed as θλ + g, or θλ − g when maximizing)
 *   no momentum: θ ← θ + d·(−γ)
 *   momentum:    b ← d on the first step, else b·μ + d·(1 − τ) (b·μ + d when τ = 0)
 *                θ ← θ + (b·μ + d)·(−γ) with Nesterov, else θ + b·(−γ) */
#define DEFINE_SGD(T, NAME)                                                                    \
GS_INLINE void NAME##_body(T *restrict p, const T *restrict g, T *restrict b, Py_ssize_t n,   \
                           T lr, T wd, T mu, T damp, const int has_wd, const int maximize,     \
                           const int momentum, const int first, const int nesterov,           \
                           const int dampened)                                                 \
{                                                                                              \
    for (Py_ssize_t i = 0; i < n; i++) {                                                       \
        T d = has_wd ? (maximize ? p[i] * wd - g[i] : p[i] * wd + g[i]) : (maximize ? -g[i] : g[i]);\
        if (!momentum) { p[i] = p[i] + d * -lr; continue; }                                    \
        T bi = first ? d : (dampened ? b[i] * mu + d * damp : b[i] * mu + d);                  \
        b[i] = bi;                                                                             \
        p[i] = p[i] + (nesterov ? bi * mu + d : bi) * -lr;                                     \
    }                                                                                          \
}                                                                                              \
GS_CLONES static void NAME##_plain(T *restrict p, const T *restrict g, Py_ssize_t n, T lr)    \
{ NAME##_body(p, g, NULL, n, lr, 0, 0, 0, 0, 0, 0, 0, 0, 0); }                                 \
GS_CLONES static void NAME##_momentum(T *restrict p, const T *restrict g, T *restrict b,      \
                                      Py_ssize_t n, T lr, T mu)                                \
{ NAME##_body(p, g, b, n, lr, 0, mu, 0, 0, 0, 1, 0, 0, 0); }                                   \
static void NAME(T *p, const T *g, T *b, Py_ssize_t n, double lr, double wd, double momentum,  \
                 double dampening, int nesterov, int maximize, int first)                      \
{                                                                                              \
    T l = (T)lr, w = (T)wd, mu = (T)momentum, damp = (T)(1.0 - dampening);                     \
    int has_wd = wd != 0.0, mom = b != NULL, dampened = dampening != 0.0;                      \
    if (!has_wd && !maximize && !mom) NAME##_plain(p, g, n, l);                                \
    else if (!has_wd && !maximize && mom && !first && !nesterov && !dampened)                  \
        NAME##_momentum(p, g, b, n, l, mu);                                                    \
    else  /* the rarer variants: one loop with the flags read per element */                   \
        for (Py_ssize_t i = 0; i < n; i++)                                                     \
            NAME##_body(p + i, g + i, mom ? b + i : NULL, 1, l, w, mu, damp, has_wd, maximize, \
                        mom, first, nesterov, dampened);                                       \
}

DEFINE_SGD(float, sgd_f32)
DEFINE_SGD(double, sgd_f64)

/* Get the buffers of `objs` (None allowed where `optional`); all C-contiguous, of the first
 * one's dtype (float32 or float64) and length. Returns how many were got, or -1 with an error set
 * (and everything released). */
static int get_buffers(const char *op, PyObject **objs, Py_buffer *bufs, const char **names,
                       const int *writable, const int *optional, int count)
{
    int k;
    for (k = 0; k < count; k++) {
        bufs[k].obj = NULL;
        if (objs[k] == Py_None && optional[k]) continue;
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable[k] ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objs[k], &bufs[k], flags) < 0) {
            PyErr_Format(PyExc_TypeError, "%s: %s must be a writable C-contiguous float array",
                         op, names[k]);
            goto fail;
        }
        const char *f = bufs[k].format ? bufs[k].format : "B";
        if (!((f[0] == 'f' || f[0] == 'd') && f[1] == '\0')) {
            PyErr_Format(PyExc_TypeError, "%s: %s must be float32 or float64, got buffer format '%s'",
                         op, names[k], f);
            k++;
            goto fail;
        }
        if (k > 0 && (bufs[k].itemsize != bufs[0].itemsize || bufs[k].len != bufs[0].len)) {
            PyErr_Format(PyExc_ValueError,
                         "%s: %s has %zd bytes of %zd-byte floats, expected %zd of %zd like %s",
                         op, names[k], bufs[k].len, bufs[k].itemsize, bufs[0].len, bufs[0].itemsize,
                         names[0]);
            k++;
            goto fail;
        }
    }
    return count;
fail:
    while (--k >= 0)
        if (bufs[k].obj != NULL) PyBuffer_Release(&bufs[k]);
    return -1;
}

static void release_buffers(Py_buffer *bufs, int count)
{
    for (int k = 0; k < count; k++)
        if (bufs[k].obj != NULL) PyBuffer_Release(&bufs[k]);
}

PyDoc_STRVAR(adam_doc,
"adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, scale, l2, decay, maximize)\n"
"\n"
"One fused Adam/AdamW update, in place, on 1-D contiguous float32/float64 buffers.\n"
"max_exp_avg_sq is None unless amsgrad. See gradstep/optim/adam.py for the maths.");

static PyObject *py_adam(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[5];
    Py_buffer b[5];
    double beta1, beta2, eps, scale, l2, decay;
    int maximize;
    static const char *names[] = {"param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    static const int writable[] = {1, 0, 1, 1, 1}, optional[] = {0, 0, 0, 0, 1};
    if (!PyArg_ParseTuple(args, "OOOOOddddddp:adam", &objs[0], &objs[1], &objs[2], &objs[3],
                          &objs[4], &beta1, &beta2, &eps, &scale, &l2, &decay, &maximize))
        return NULL;
    if (get_buffers("adam", objs, b, names, writable, optional, 5) < 0)
        return NULL;
    Py_ssize_t n = b[0].len / b[0].itemsize;
    void *vmax = b[4].obj != NULL ? b[4].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (b[0].itemsize == 4)
        adam_f32(b[0].buf, b[1].buf, b[2].buf, b[3].buf, vmax, n, beta1, beta2, eps, scale, l2,
                 decay, maximize);
    else
        adam_f64(b[0].buf, b[1].buf, b[2].buf, b[3].buf, vmax, n, beta1, beta2, eps, scale, l2,
                 decay, maximize);
    Py_END_ALLOW_THREADS
    release_buffers(b, 5);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(sgd_doc,
"sgd(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, maximize, first)\n"
"\n"
"One fused SGD update, in place, on 1-D contiguous float32/float64 buffers; momentum_buffer is\n"
"None without momentum. See gradstep/optim/sgd.py for the maths.");

static PyObject *py_sgd(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[3];
    Py_buffer b[3];
    double lr, wd, momentum, dampening;
    int nesterov, maximize, first;
    static const char *names[] = {"param", "grad", "momentum_buffer"};
    static const int writable[] = {1, 0, 1}, optional[] = {0, 0, 1};
    if (!PyArg_ParseTuple(args, "OOOddddppp:sgd", &objs[0], &objs[1], &objs[2], &lr, &wd, &momentum,
                          &dampening, &nesterov, &maximize, &first))
        return NULL;
    if (get_buffers("sgd", objs, b, names, writable, optional, 3) < 0)
        return NULL;
    Py_ssize_t n = b[0].len / b[0].itemsize;
    void *buf = b[2].obj != NULL ? b[2].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (b[0].itemsize == 4)
        sgd_f32(b[0].buf, b[1].buf, buf, n, lr, wd, momentum, dampening, nesterov, maximize, first);
    else
        sgd_f64(b[0].buf, b[1].buf, buf, n, lr, wd, momentum, dampening, nesterov, maximize, first);
    Py_END_ALLOW_THREADS
    release_buffers(b, 3);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ max pooling
 * Channels-last (N, H, W, C) input, kernel kh x kw, stride sh x sw, no padding or dilation
 * (the caller falls back to NumPy otherwise). Forward writes the max of each window and, when
 * asked (training), the window offset i*kw + j of its first maximum as a byte (the first NaN
 * when there is one: NaN propagates, as in PyTorch). Backward routes each output gradient to
 * that offset. All loops run along C, contiguous in every array, a block of channels at a
 * time; the offsets are tracked as IT (as wide as T, so the loop vectorises) and narrowed to
 * bytes when stored. */
#define POOL_BLOCK 64
#define WINDOW(base, t) ((base) + ((Py_ssize_t)((t) / kw) * w + (t) % kw) * c)
#define FOR_CELLS(...)                                                                         \
    for (Py_ssize_t b = 0; b < n; b++)                                                         \
        for (Py_ssize_t r = 0; r < oh; r++)                                                    \
            for (Py_ssize_t q = 0; q < ow; q++)                                                \
                for (Py_ssize_t c0 = 0; c0 < c; c0 += POOL_BLOCK) {                            \
                    Py_ssize_t o = ((b * oh + r) * ow + q) * c + c0;                           \
                    Py_ssize_t in = ((b * h + r * sh) * w + q * sw) * c + c0;                  \
                    Py_ssize_t cn = c - c0 < POOL_BLOCK ? c - c0 : POOL_BLOCK;                 \
                    __VA_ARGS__                                                                \
                }
#define DEFINE_MAXPOOL(T, IT, NAME)                                                            \
GS_CLONES static void NAME##_forward(const T *restrict x, T *restrict out, Py_ssize_t n,      \
                                     Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, int kh, int kw, \
                                     int sh, int sw, Py_ssize_t oh, Py_ssize_t ow)             \
{                                                                                              \
    FOR_CELLS({                                                                                \
        T *restrict best = out + o;                                                            \
        const T *restrict first = x + in;                                                      \
        for (Py_ssize_t ch = 0; ch < cn; ch++) best[ch] = first[ch];                           \
        for (int t = 1; t < kh * kw; t++) {                                                    \
            const T *restrict v = WINDOW(x + in, t);                                           \
            for (Py_ssize_t ch = 0; ch < cn; ch++) {                                           \
                T val = v[ch], m = best[ch];                                                   \
                best[ch] = ((val > m) | (val != val)) ? val : m;                               \
            }                                                                                  \
        }                                                                                      \
    })                                                                                         \
}                                                                                              \
GS_CLONES static void NAME##_forward_index(const T *restrict x, T *restrict out,              \
                                           unsigned char *restrict idx, Py_ssize_t n,          \
                                           Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, int kh,   \
                                           int kw, int sh, int sw, Py_ssize_t oh, Py_ssize_t ow)\
{                                                                                              \
    FOR_CELLS({                                                                                \
        T best[POOL_BLOCK];                                                                    \
        IT at[POOL_BLOCK];                                                                     \
        const T *restrict first = x + in;                                                      \
        for (Py_ssize_t ch = 0; ch < cn; ch++) { best[ch] = first[ch]; at[ch] = 0; }           \
        for (int t = 1; t < kh * kw; t++) {                                                    \
            const T *restrict v = WINDOW(x + in, t);                                           \
            /* a NaN is taken only while the max is not NaN yet: the first NaN wins */         \
            for (Py_ssize_t ch = 0; ch < cn; ch++) {                                           \
                T val = v[ch], m = best[ch];                                                   \
                IT take = (IT)((val > m) | ((val != val) & (m == m)));                         \
                best[ch] = take ? val : m;                                                     \
                at[ch] = take ? (IT)t : at[ch];                                                \
            }                                                                                  \
        }                                                                                      \
        for (Py_ssize_t ch = 0; ch < cn; ch++) out[o + ch] = best[ch];                         \
        for (Py_ssize_t ch = 0; ch < cn; ch++) idx[o + ch] = (unsigned char)at[ch];            \
    })                                                                                         \
}                                                                                              \
GS_CLONES static void NAME##_backward(const T *restrict g, const unsigned char *restrict idx, \
                                      T *restrict dx, Py_ssize_t n, Py_ssize_t h, Py_ssize_t w,\
                                      Py_ssize_t c, int kh, int kw, int sh, int sw,             \
                                      Py_ssize_t oh, Py_ssize_t ow)                            \
{                                                                                              \
    /* Windows that tile the input are written, not added to: only uncovered cells need 0. */  \
    int tiled = sh == kh && sw == kw;                                                          \
    if (!tiled)                                                                                \
        memset(dx, 0, (size_t)(n * h * w * c) * sizeof(T));                                   \
    else                                                                                       \
        for (Py_ssize_t b = 0; b < n; b++)                                                     \
            for (Py_ssize_t r = 0; r < h; r++) {                                               \
                T *row = dx + (b * h + r) * w * c;                                             \
                if (r >= oh * kh) memset(row, 0, (size_t)(w * c) * sizeof(T));                 \
                else if (ow * kw < w)                                                          \
                    memset(row + ow * kw * c, 0, (size_t)((w - ow * kw) * c) * sizeof(T));     \
            }                                                                                  \
    FOR_CELLS({                                                                                \
        const T *restrict gr = g + o;                                                          \
        const unsigned char *restrict at = idx + o;                                            \
        for (int t = 0; t < kh * kw; t++) {                                                    \
            T *restrict d = WINDOW(dx + in, t);                                                \
            if (tiled)                                                                         \
                for (Py_ssize_t ch = 0; ch < cn; ch++) d[ch] = at[ch] == t ? gr[ch] : (T)0;    \
            else                                                                               \
                for (Py_ssize_t ch = 0; ch < cn; ch++) d[ch] += at[ch] == t ? gr[ch] : (T)0;   \
        }                                                                                      \
    })                                                                                         \
}

DEFINE_MAXPOOL(float, int32_t, maxpool_f32)
DEFINE_MAXPOOL(double, int64_t, maxpool_f64)

/* One C-contiguous buffer of `ndim` dimensions (-1: any) whose format is one of `formats`. */
static int get_array(const char *op, const char *name, PyObject *obj, Py_buffer *buf, int ndim,
                     const char *formats, int writable)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, buf, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be a%s C-contiguous array", op, name,
                     writable ? " writable" : "");
        return -1;
    }
    const char *f = buf->format ? buf->format : "B";
    if (f[0] == '\0' || f[1] != '\0' || strchr(formats, f[0]) == NULL ||
        (ndim >= 0 && buf->ndim != ndim)) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be %d-D of format [%s], got %d-D '%s'", op, name,
                     ndim, formats, buf->ndim, f);
        PyBuffer_Release(buf);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(maxpool_doc,
"maxpool2d_forward(x, out, idx, kh, kw, sh, sw) / maxpool2d_backward(grad, idx, dx, kh, kw, sh, sw)\n"
"\n"
"2-D max pooling on channels-last arrays: x and dx (N, H, W, C); out and grad (N, H_out, W_out, C)\n"
"of x's float dtype; idx uint8 of out's shape, the window offset of each maximum (None in forward\n"
"when no backward will follow). No padding or dilation.");

static PyObject *maxpool(PyObject *args, int backward)
{
    const char *op = backward ? "maxpool2d_backward" : "maxpool2d_forward";
    static const char *fnames[] = {"x", "out", "idx"}, *bnames[] = {"grad", "idx", "dx"};
    const char **names = backward ? bnames : fnames;
    PyObject *objs[3];
    Py_buffer b[3];
    int kh, kw, sh, sw, got = 0, ok = 0;
    if (!PyArg_ParseTuple(args, "OOOiiii", &objs[0], &objs[1], &objs[2], &kh, &kw, &sh, &sw))
        return NULL;
    for (; got < 3; got++) {
        b[got].obj = NULL;
        int is_idx = backward ? got == 1 : got == 2;
        if (is_idx && !backward && objs[got] == Py_None) continue;
        int writable = backward ? got == 2 : got >= 1;
        if (get_array(op, names[got], objs[got], &b[got], 4, is_idx ? "B" : "fd", writable) < 0) goto done;
    }
    Py_buffer *big = backward ? &b[2] : &b[0], *small = backward ? &b[0] : &b[1];
    Py_buffer *ix = backward ? &b[1] : &b[2];
    Py_ssize_t n = big->shape[0], h = big->shape[1], w = big->shape[2], c = big->shape[3];
    Py_ssize_t oh = small->shape[1], ow = small->shape[2];
    ok = kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 && kh * kw <= 255 && small->shape[0] == n &&
         small->shape[3] == c && big->itemsize == small->itemsize && oh >= 0 && ow >= 0 &&
         (oh == 0 || (oh - 1) * sh + kh <= h) && (ow == 0 || (ow - 1) * sw + kw <= w);
    for (int d = 0; ok && ix->obj != NULL && d < 4; d++) ok = ix->shape[d] == small->shape[d];
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "%s: inconsistent shapes, dtypes or window (kernel %dx%d, stride %dx%d)",
                     op, kh, kw, sh, sw);
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    if (backward) {
        if (big->itemsize == 4) maxpool_f32_backward(b[0].buf, b[1].buf, b[2].buf, n, h, w, c, kh, kw, sh, sw, oh, ow);
        else maxpool_f64_backward(b[0].buf, b[1].buf, b[2].buf, n, h, w, c, kh, kw, sh, sw, oh, ow);
    } else if (ix->obj != NULL) {
        if (big->itemsize == 4) maxpool_f32_forward_index(b[0].buf, b[1].buf, b[2].buf, n, h, w, c, kh, kw, sh, sw, oh, ow);
        else maxpool_f64_forward_index(b[0].buf, b[1].buf, b[2].buf, n, h, w, c, kh, kw, sh, sw, oh, ow);
    } else {
        if (big->itemsize == 4) maxpool_f32_forward(b[0].buf, b[1].buf, n, h, w, c, kh, kw, sh, sw, oh, ow);
        else maxpool_f64_forward(b[0].buf, b[1].buf, n, h, w, c, kh, kw, sh, sw, oh, ow);
    }
    Py_END_ALLOW_THREADS
done:
    while (--got >= 0)
        if (b[got].obj != NULL) PyBuffer_Release(&b[got]);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_maxpool_forward(PyObject *self, PyObject *args) { (void)self; return maxpool(args, 0); }
static PyObject *py_maxpool_backward(PyObject *self, PyObject *args) { (void)self; return maxpool(args, 1); }

/* ------------------------------------------------------------------ col2im
 * Input gradient of a convolution, channels-last. `cols` (kh*kw, N, GH, GW, C) holds per kernel
 * offset t = i*kw + j the gradient each output cell sends to its window's element t. Each input
 * pixel (y, x) of `out` (N, H, W, C, unpadded) gathers, in offset order, the cells whose window
 * puts element t on it: cell (gy, gx) with gy*sh + i*dh = y + top and gx*sw + j*dw = x + left.
 * Gathering writes every output once (no zero fill, no read-modify-write passes) and sums in
 * the order of the NumPy fallback's slice adds. */
#define DEFINE_COL2IM(T, NAME)                                                                 \
GS_CLONES static void NAME(const T *restrict cols, T *restrict out, Py_ssize_t n,             \
                           Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t gh,            \
                           Py_ssize_t gw, int kh, int kw, int sh, int sw, int dh, int dw,      \
                           int top, int left)                                                  \
{                                                                                              \
    Py_ssize_t plane = n * gh * gw * c;                                                        \
    for (Py_ssize_t b = 0; b < n; b++)                                                         \
        for (Py_ssize_t y = 0; y < h; y++)                                                     \
            for (Py_ssize_t x = 0; x < w; x++) {                                               \
                T *restrict o = out + ((b * h + y) * w + x) * c;                               \
                int first = 1;                                                                 \
                for (int i = 0; i < kh; i++) {                                                 \
                    Py_ssize_t ry = y + top - (Py_ssize_t)i * dh;                              \
                    if (ry < 0 || ry % sh != 0 || ry / sh >= gh) continue;                     \
                    for (int j = 0; j < kw; j++) {                                             \
                        Py_ssize_t rx = x + left - (Py_ssize_t)j * dw;                         \
                        if (rx < 0 || rx % sw != 0 || rx / sw >= gw) continue;                 \
                        const T *restrict src = cols + (i * kw + j) * plane                    \
                                                + ((b * gh + ry / sh) * gw + rx / sw) * c;     \
                        if (first)                                                             \
                            for (Py_ssize_t ch = 0; ch < c; ch++) o[ch] = src[ch];             \
                        else                                                                   \
                            for (Py_ssize_t ch = 0; ch < c; ch++) o[ch] += src[ch];            \
                        first = 0;                                                             \
                    }                                                                          \
                }                                                                              \
                if (first)                                                                     \
                    for (Py_ssize_t ch = 0; ch < c; ch++) o[ch] = 0;                           \
            }                                                                                  \
}

DEFINE_COL2IM(float, col2im_f32)
DEFINE_COL2IM(double, col2im_f64)

PyDoc_STRVAR(col2im_doc,
"col2im(cols, out, kh, kw, sh, sw, dh, dw, top, left)\n"
"\n"
"Convolution input gradient, channels-last: cols (kh*kw, N, GH, GW, C) per kernel offset,\n"
"out (N, H, W, C) the unpadded input's gradient (written, not added to).");

/* The arguments both convolution kernels take: two float arrays (`a` read, `b` written) of
 * `a_ndim` and `b_ndim` dims and one dtype, then the geometry kh, kw, sh, sw, dh, dw, top, left
 * (`format`: "OOiiiiiiii:<op>", so that argument errors name the kernel). */
typedef struct { int kh, kw, sh, sw, dh, dw, top, left; } conv_geometry;

static int conv_arguments(PyObject *args, const char *format, const char *op, const char *a_name,
                          int a_ndim, const char *b_name, int b_ndim, Py_buffer *a, Py_buffer *b,
                          conv_geometry *g)
{
    PyObject *oa, *ob;
    if (!PyArg_ParseTuple(args, format, &oa, &ob, &g->kh, &g->kw, &g->sh, &g->sw, &g->dh,
                          &g->dw, &g->top, &g->left))
        return -1;
    if (get_array(op, a_name, oa, a, a_ndim, "fd", 0) < 0) return -1;
    if (get_array(op, b_name, ob, b, b_ndim, "fd", 1) < 0) {
        PyBuffer_Release(a);
        return -1;
    }
    if (g->kh < 1 || g->kw < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->top < 0 ||
        g->left < 0 || a->itemsize != b->itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: inconsistent dtypes or geometry", op);
        PyBuffer_Release(a); PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

static PyObject *py_col2im(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer cols, out;
    conv_geometry g;
    if (conv_arguments(args, "OOiiiiiiii:col2im", "col2im", "cols", 5, "out", 4, &cols, &out, &g) < 0)
        return NULL;
    Py_ssize_t n = out.shape[0], h = out.shape[1], w = out.shape[2], c = out.shape[3];
    Py_ssize_t gh = cols.shape[2], gw = cols.shape[3];
    int ok = cols.shape[0] == (Py_ssize_t)g.kh * g.kw && cols.shape[1] == n && cols.shape[4] == c;
    if (!ok)
        PyErr_Format(PyExc_ValueError, "col2im: inconsistent shapes");
    else {
        Py_BEGIN_ALLOW_THREADS
        if (out.itemsize == 4)
            col2im_f32(cols.buf, out.buf, n, h, w, c, gh, gw, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left);
        else
            col2im_f64(cols.buf, out.buf, n, h, w, c, gh, gw, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&cols); PyBuffer_Release(&out);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ im2col
 * Convolution columns, channels-last: row (n, gy, gx) of `cols` holds, for each kernel offset
 * (i, j) in order, the C values of input pixel (gy*sh - top + i*dh, gx*sw - left + j*dw), or
 * zeros where that pixel is padding; then a 1 when the row has room for it (the bias rides
 * along in the GEMM). Reads the unpadded input directly: no padded copy. */
#define DEFINE_IM2COL(T, NAME)                                                                 \
GS_CLONES static void NAME(const T *restrict x, T *restrict cols, Py_ssize_t n, Py_ssize_t h, \
                           Py_ssize_t w, Py_ssize_t c, Py_ssize_t gh, Py_ssize_t gw,           \
                           Py_ssize_t row, int kh, int kw, int sh, int sw, int dh, int dw,     \
                           int top, int left)                                                  \
{                                                                                              \
    Py_ssize_t k = (Py_ssize_t)kh * kw * c;                                                    \
    for (Py_ssize_t b = 0; b < n; b++)                                                         \
        for (Py_ssize_t gy = 0; gy < gh; gy++)                                                 \
            for (Py_ssize_t gx = 0; gx < gw; gx++) {                                           \
                T *restrict dst = cols + ((b * gh + gy) * gw + gx) * row;                      \
                for (int i = 0; i < kh; i++) {                                                 \
                    Py_ssize_t y = gy * sh - top + (Py_ssize_t)i * dh;                         \
                    for (int j = 0; j < kw; j++, dst += c) {                                   \
                        Py_ssize_t xx = gx * sw - left + (Py_ssize_t)j * dw;                   \
                        if (y < 0 || y >= h || xx < 0 || xx >= w)                              \
                            memset(dst, 0, (size_t)c * sizeof(T));                             \
                        else                                                                   \
                            memcpy(dst, x + ((b * h + y) * w + xx) * c, (size_t)c * sizeof(T));\
                    }                                                                          \
                }                                                                              \
                if (row > k) *dst = (T)1;                                                      \
            }                                                                                  \
}

DEFINE_IM2COL(float, im2col_f32)
DEFINE_IM2COL(double, im2col_f64)

PyDoc_STRVAR(im2col_doc,
"im2col(x, cols, kh, kw, sh, sw, dh, dw, top, left)\n"
"\n"
"Convolution columns from a channels-last input x (N, H, W, C) into cols (N, GH, GW, K) with\n"
"K = kh*kw*C (or K + 1: the last column is set to 1).");

static PyObject *py_im2col(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer x, cols;
    conv_geometry g;
    if (conv_arguments(args, "OOiiiiiiii:im2col", "im2col", "x", 4, "cols", 4, &x, &cols, &g) < 0)
        return NULL;
    Py_ssize_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
    Py_ssize_t gh = cols.shape[1], gw = cols.shape[2], row = cols.shape[3];
    Py_ssize_t k = (Py_ssize_t)g.kh * g.kw * c;
    int ok = cols.shape[0] == n && (row == k || row == k + 1);
    if (!ok)
        PyErr_Format(PyExc_ValueError, "im2col: inconsistent shapes");
    else {
        Py_BEGIN_ALLOW_THREADS
        if (x.itemsize == 4)
            im2col_f32(x.buf, cols.buf, n, h, w, c, gh, gw, row, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left);
        else
            im2col_f64(x.buf, cols.buf, n, h, w, c, gh, gw, row, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.top, g.left);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&x); PyBuffer_Release(&cols);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ GELU (exact), float32
 * The maths of gradstep/ops/elementwise.py's _gelu_piece, in one pass instead of ~25:
 *   a = |x|;  h = Φ(-a) = exp(-x²/2) P(a) / Q(a) (0 beyond a = 13);  y = max(x, 0) - a h
 *   slope = Φ(x) + x φ(x) with Φ(x) = x > 0 ? 1 - h : h  (written only when asked for)
 * exp is our own branch-free float32 one (Cody-Waite reduction, degree-6 polynomial, relative
 * error ~1e-7) so that gcc vectorises the loop; the result differs from the NumPy path by a few
 * float32 ulps, not bit for bit. */
GS_INLINE float exp_f32(float x)
{
    /* Callers pass -84.5 <= x <= 0 (no clamp here: it would stop gcc from vectorising). */
    float t = x * 1.44269504088896341f;
    int32_t k = (int32_t)__builtin_floorf(t + 0.5f);  /* nearest integer (vectorises as a round) */
    float n = (float)k;
    float r = x - n * 0.693359375f;          /* ln 2, split: hi part exact in float32 */
    r = r - n * -2.12194440e-4f;             /* lo part */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    float scale;
    int32_t bits = (k + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

GS_INLINE void gelu_body(const float *restrict x, float *restrict y, float *restrict slope,
                         Py_ssize_t n, const int want_slope)
{
    const float p0 = 11.700054087794246f, p1 = 8.470014453996113f, p2 = 2.7969636255563377f,
                p3 = 0.39889557334431824f;
    const float q0 = 23.400117046287583f, q1 = 35.61018069489836f, q2 = 22.310171499310425f,
                q3 = 7.0062050301922625f;
    const float inv_sqrt_2pi = 0.3989422804014327f;
    for (Py_ssize_t i = 0; i < n; i++) {
        float v = x[i];
        float a = __builtin_fabsf(v);
        float tail = a < 13.0f ? 1.0f : 0.0f;   /* Φ(-13) ~ 6e-39 is below float32's normal range */
        a = a < 13.0f ? a : 13.0f;
        float num = ((p3 * a + p2) * a + p1) * a + p0;
        float den = (((a + q3) * a + q2) * a + q1) * a + q0;
        float e = exp_f32(-0.5f * a * a) * tail; /* exp(-x²/2), 0 beyond 13 */
        float h = num / den * e;
        float pos = v > 0.0f ? v : 0.0f;
        y[i] = (v == v) ? pos - a * h : v;       /* NaN in, NaN out */
        if (want_slope) {
            float cdf = v > 0.0f ? 1.0f - h : h;
            slope[i] = (v == v) ? cdf + v * e * inv_sqrt_2pi : v;
        }
    }
}

GS_CLONES static void gelu_f32(const float *restrict x, float *restrict y, Py_ssize_t n)
{ gelu_body(x, y, NULL, n, 0); }
GS_CLONES static void gelu_slope_f32(const float *restrict x, float *restrict y,
                                     float *restrict slope, Py_ssize_t n)
{ gelu_body(x, y, slope, n, 1); }

PyDoc_STRVAR(gelu_doc,
"gelu(x, out, slope)\n\nExact GELU of a contiguous float32 array into out; also its derivative\n"
"into slope unless slope is None.");

static PyObject *py_gelu(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[3];
    Py_buffer b[3];
    static const char *names[] = {"x", "out", "slope"};
    static const int writable[] = {0, 1, 1}, optional[] = {0, 0, 1};
    if (!PyArg_ParseTuple(args, "OOO:gelu", &objs[0], &objs[1], &objs[2]))
        return NULL;
    if (get_buffers("gelu", objs, b, names, writable, optional, 3) < 0)
        return NULL;
    if (b[0].itemsize != 4) {
        release_buffers(b, 3);
        PyErr_SetString(PyExc_TypeError, "gelu: x must be float32");
        return NULL;
    }
    Py_ssize_t n = b[0].len / 4;
    float *slope = b[2].obj != NULL ? b[2].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (slope != NULL) gelu_slope_f32(b[0].buf, b[1].buf, slope, n);
    else gelu_f32(b[0].buf, b[1].buf, n);
    Py_END_ALLOW_THREADS
    release_buffers(b, 3);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ layer norm
 * Rows of length n (the normalized dims flattened). Forward: mean, then the biased variance of
 * the centred row (two passes over a row in L1), rstd = 1/sqrt(var + eps), xhat = (x - mean) rstd,
 * out = xhat w + b; xhat is stored when backward will need it. Backward: gy = g w;
 * dx = rstd (gy - mean(gy) - xhat mean(gy xhat)); the weight and bias gradients (sums over rows
 * of g xhat and of g) accumulate in double and are rounded once. Row sums run in LANES
 * independent partial sums (what lets them vectorise; a strict left-to-right sum can't). */
#define LANES 16
#define ROW_SUM(T, EXPR, OUT)                                                                  \
    do {                                                                                       \
        T acc_[LANES] = {0};                                                                   \
        Py_ssize_t j = 0;                                                                      \
        for (; j + LANES <= n; j += LANES)                                                     \
            for (int l_ = 0; l_ < LANES; l_++) { Py_ssize_t k = j + l_; acc_[l_] += (EXPR); }  \
        double s_ = 0;                                                                         \
        for (; j < n; j++) { Py_ssize_t k = j; s_ += (double)(EXPR); }                         \
        for (int l_ = 0; l_ < LANES; l_++) s_ += (double)acc_[l_];                             \
        OUT = s_;                                                                              \
    } while (0)
#define DEFINE_LAYER_NORM(T, NAME)                                                             \
GS_CLONES static void NAME##_forward(const T *restrict x, const T *restrict wt,               \
                                     const T *restrict bs, T *restrict out, T *restrict xhat,  \
                                     T *restrict rstd, Py_ssize_t m, Py_ssize_t n, double eps) \
{                                                                                              \
    double count = (double)(n > 0 ? n : 1);                                                    \
    for (Py_ssize_t r = 0; r < m; r++) {                                                       \
        const T *restrict xr = x + r * n;                                                      \
        T *restrict o = out + r * n;                                                           \
        double sum, sq;                                                                        \
        ROW_SUM(T, xr[k], sum);                                                                \
        T mean = (T)(sum / count);                                                             \
        ROW_SUM(T, (xr[k] - mean) * (xr[k] - mean), sq);                                       \
        T rs = (T)(1.0 / sqrt(sq / count + eps));                                              \
        rstd[r] = rs;                                                                          \
        if (xhat != NULL) {                                                                    \
            T *restrict xh = xhat + r * n;                                                     \
            for (Py_ssize_t j = 0; j < n; j++) xh[j] = (xr[j] - mean) * rs;                    \
        }                                                                                      \
        if (wt != NULL && bs != NULL)                                                          \
            for (Py_ssize_t j = 0; j < n; j++) o[j] = (xr[j] - mean) * rs * wt[j] + bs[j];     \
        else if (wt != NULL)                                                                   \
            for (Py_ssize_t j = 0; j < n; j++) o[j] = (xr[j] - mean) * rs * wt[j];             \
        else if (bs != NULL)                                                                   \
            for (Py_ssize_t j = 0; j < n; j++) o[j] = (xr[j] - mean) * rs + bs[j];             \
        else                                                                                   \
            for (Py_ssize_t j = 0; j < n; j++) o[j] = (xr[j] - mean) * rs;                     \
    }                                                                                          \
}                                                                                              \
GS_CLONES static void NAME##_backward(const T *restrict g, const T *restrict xhat,            \
                                      const T *restrict rstd, const T *restrict wt,            \
                                      T *restrict dx, double *restrict gw, double *restrict gb,\
                                      Py_ssize_t m, Py_ssize_t n)                              \
{                                                                                              \
    for (Py_ssize_t r = 0; r < m; r++) {                                                       \
        const T *restrict gr = g + r * n, *restrict xh = xhat + r * n;                         \
        if (gw != NULL)                                                                        \
            for (Py_ssize_t j = 0; j < n; j++) gw[j] += (double)(gr[j] * xh[j]);               \
        if (gb != NULL)                                                                        \
            for (Py_ssize_t j = 0; j < n; j++) gb[j] += (double)gr[j];                         \
        if (dx == NULL) continue;                                                              \
        T *restrict d = dx + r * n;                                                            \
        double c1, c2;                                                                         \
        if (wt != NULL) {                                                                      \
            ROW_SUM(T, gr[k] * wt[k], c1);                                                     \
            ROW_SUM(T, gr[k] * wt[k] * xh[k], c2);                                             \
        } else {                                                                               \
            ROW_SUM(T, gr[k], c1);                                                             \
            ROW_SUM(T, gr[k] * xh[k], c2);                                                     \
        }                                                                                      \
        T mean1 = (T)(c1 / (double)n), mean2 = (T)(c2 / (double)n), rs = rstd[r];              \
        if (wt != NULL)                                                                        \
            for (Py_ssize_t j = 0; j < n; j++) d[j] = (gr[j] * wt[j] - mean1 - xh[j] * mean2) * rs;\
        else                                                                                   \
            for (Py_ssize_t j = 0; j < n; j++) d[j] = (gr[j] - mean1 - xh[j] * mean2) * rs;    \
    }                                                                                          \
}

DEFINE_LAYER_NORM(float, layer_norm_f32)
DEFINE_LAYER_NORM(double, layer_norm_f64)

PyDoc_STRVAR(layer_norm_doc,
"layer_norm_forward(x, weight, bias, out, xhat, rstd, eps)\n"
"layer_norm_backward(grad, xhat, rstd, weight, dx, grad_weight, grad_bias)\n"
"\n"
"Row-wise layer norm on C-contiguous (M, N) float arrays; weight, bias (N,) or None; rstd (M,);\n"
"xhat (M, N) or None in forward; in backward dx may be None, grad_weight and grad_bias are\n"
"float64 (N,) accumulators (or None) that the row sums are added to.");

static PyObject *py_layer_norm_forward(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[6];
    Py_buffer b[6];
    double eps;
    int got = 0, ok = 0;
    static const char *names[] = {"x", "weight", "bias", "out", "xhat", "rstd"};
    if (!PyArg_ParseTuple(args, "OOOOOOd:layer_norm_forward", &objs[0], &objs[1], &objs[2], &objs[3],
                          &objs[4], &objs[5], &eps))
        return NULL;
    for (; got < 6; got++) {
        b[got].obj = NULL;
        if (objs[got] == Py_None && (got == 1 || got == 2 || got == 4)) continue;
        int writable = got >= 3, ndim = (got == 0 || got == 3 || got == 4) ? 2 : 1;
        if (get_array("layer_norm_forward", names[got], objs[got], &b[got], ndim, "fd", writable) < 0)
            goto done;
    }
    Py_ssize_t m = b[0].shape[0], n = b[0].shape[1];
    ok = 1;
    for (int k = 1; ok && k < 6; k++) {
        if (b[k].obj == NULL) continue;
        ok = b[k].itemsize == b[0].itemsize;
        if (k == 1 || k == 2) ok = ok && b[k].shape[0] == n;
        else if (k == 5) ok = ok && b[k].shape[0] == m;
        else ok = ok && b[k].shape[0] == m && b[k].shape[1] == n;
    }
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "layer_norm_forward: inconsistent shapes or dtypes");
        goto done;
    }
    void *w = b[1].obj ? b[1].buf : NULL, *bias = b[2].obj ? b[2].buf : NULL,
         *xhat = b[4].obj ? b[4].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (b[0].itemsize == 4)
        layer_norm_f32_forward(b[0].buf, w, bias, b[3].buf, xhat, b[5].buf, m, n, eps);
    else
        layer_norm_f64_forward(b[0].buf, w, bias, b[3].buf, xhat, b[5].buf, m, n, eps);
    Py_END_ALLOW_THREADS
done:
    while (--got >= 0)
        if (b[got].obj != NULL) PyBuffer_Release(&b[got]);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

static PyObject *py_layer_norm_backward(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[7];
    Py_buffer b[7];
    int got = 0, ok = 0;
    static const char *names[] = {"grad", "xhat", "rstd", "weight", "dx", "grad_weight", "grad_bias"};
    if (!PyArg_ParseTuple(args, "OOOOOOO:layer_norm_backward", &objs[0], &objs[1], &objs[2], &objs[3],
                          &objs[4], &objs[5], &objs[6]))
        return NULL;
    for (; got < 7; got++) {
        b[got].obj = NULL;
        if (objs[got] == Py_None && got >= 3) continue;
        int ndim = (got == 0 || got == 1 || got == 4) ? 2 : 1;
        const char *fmt = got >= 5 ? "d" : "fd";
        if (get_array("layer_norm_backward", names[got], objs[got], &b[got], ndim, fmt, got >= 4) < 0)
            goto done;
    }
    Py_ssize_t m = b[0].shape[0], n = b[0].shape[1];
    ok = 1;
    for (int k = 1; ok && k < 7; k++) {
        if (b[k].obj == NULL) continue;
        ok = k >= 5 || b[k].itemsize == b[0].itemsize;
        if (k == 2) ok = ok && b[k].shape[0] == m;
        else if (k == 3 || k >= 5) ok = ok && b[k].shape[0] == n;
        else ok = ok && b[k].shape[0] == m && b[k].shape[1] == n;
    }
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "layer_norm_backward: inconsistent shapes or dtypes");
        goto done;
    }
    void *w = b[3].obj ? b[3].buf : NULL, *dx = b[4].obj ? b[4].buf : NULL;
    double *gw = b[5].obj ? b[5].buf : NULL, *gb = b[6].obj ? b[6].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (b[0].itemsize == 4)
        layer_norm_f32_backward(b[0].buf, b[1].buf, b[2].buf, w, dx, gw, gb, m, n);
    else
        layer_norm_f64_backward(b[0].buf, b[1].buf, b[2].buf, w, dx, gw, gb, m, n);
    Py_END_ALLOW_THREADS
done:
    while (--got >= 0)
        if (b[got].obj != NULL) PyBuffer_Release(&b[got]);
    if (!ok) return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ ReLU
 * Forward: out = x < 0 ? 0 : x (NaN stays NaN, as np.maximum(x, 0) and PyTorch).
 * Backward: dx = out > 0 ? g : 0 in one pass (NumPy needs a mask pass and a multiply pass);
 * a NaN gradient where the unit was off gives 0, as PyTorch's threshold_backward. */
#define DEFINE_RELU_FORWARD(T, NAME)                                                           \
GS_CLONES static void NAME(const T *restrict x, T *restrict out, Py_ssize_t n)                \
{                                                                                              \
    for (Py_ssize_t i = 0; i < n; i++) out[i] = x[i] < 0 ? (T)0 : x[i];                        \
}

DEFINE_RELU_FORWARD(float, relu_f32)
DEFINE_RELU_FORWARD(double, relu_f64)

PyDoc_STRVAR(relu_doc, "relu(x, out)\n\nout = max(x, 0) on C-contiguous float arrays of one shape.");

static PyObject *py_relu(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[2];
    Py_buffer b[2];
    static const char *names[] = {"x", "out"};
    static const int writable[] = {0, 1}, optional[] = {0, 0};
    if (!PyArg_ParseTuple(args, "OO:relu", &objs[0], &objs[1]))
        return NULL;
    if (get_buffers("relu", objs, b, names, writable, optional, 2) < 0)
        return NULL;
    Py_ssize_t n = b[0].len / b[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (b[0].itemsize == 4) relu_f32(b[0].buf, b[1].buf, n);
    else relu_f64(b[0].buf, b[1].buf, n);
    Py_END_ALLOW_THREADS
    release_buffers(b, 2);
    Py_RETURN_NONE;
}

#define DEFINE_RELU_BACKWARD(T, NAME)                                                          \
GS_CLONES static void NAME(const T *restrict g, const T *restrict out, T *restrict dx,        \
                           Py_ssize_t n)                                                       \
{                                                                                              \
    for (Py_ssize_t i = 0; i < n; i++) dx[i] = out[i] > 0 ? g[i] : (T)0;                       \
}

DEFINE_RELU_BACKWARD(float, relu_backward_f32)
DEFINE_RELU_BACKWARD(double, relu_backward_f64)

PyDoc_STRVAR(relu_backward_doc,
"relu_backward(grad, out, dx)\n\ndx = grad where out > 0 else 0, on C-contiguous float arrays of one shape.");

static PyObject *py_relu_backward(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[3];
    Py_buffer b[3];
    static const char *names[] = {"grad", "out", "dx"};
    static const int writable[] = {0, 0, 1}, optional[] = {0, 0, 0};
    if (!PyArg_ParseTuple(args, "OOO:relu_backward", &objs[0], &objs[1], &objs[2]))
        return NULL;
    if (get_buffers("relu_backward", objs, b, names, writable, optional, 3) < 0)
        return NULL;
    Py_ssize_t n = b[0].len / b[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (b[0].itemsize == 4) relu_backward_f32(b[0].buf, b[1].buf, b[2].buf, n);
    else relu_backward_f64(b[0].buf, b[1].buf, b[2].buf, n);
    Py_END_ALLOW_THREADS
    release_buffers(b, 3);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ bias + ReLU
 * The epilogue of a Linear followed by a ReLU: y = relu(y + bias) in place, one pass over
 * the GEMM's output instead of a bias pass and a ReLU pass (and no second output array).
 * Same arithmetic as the two passes (one rounding in the add; NaN stays NaN). */
#define DEFINE_BIAS_RELU(T, NAME)                                                              \
GS_CLONES static void NAME(T *restrict y, const T *restrict bias, Py_ssize_t rows,            \
                           Py_ssize_t n)                                                       \
{                                                                                              \
    for (Py_ssize_t r = 0; r < rows; r++, y += n) {                                            \
        if (bias != NULL)                                                                      \
            for (Py_ssize_t j = 0; j < n; j++) {                                               \
                T v = y[j] + bias[j];                                                          \
                y[j] = v < 0 ? (T)0 : v;                                                       \
            }                                                                                  \
        else                                                                                   \
            for (Py_ssize_t j = 0; j < n; j++) y[j] = y[j] < 0 ? (T)0 : y[j];                  \
    }                                                                                          \
}

DEFINE_BIAS_RELU(float, bias_relu_f32)
DEFINE_BIAS_RELU(double, bias_relu_f64)

PyDoc_STRVAR(bias_relu_doc,
"bias_relu(y, bias)\n\ny = max(y + bias, 0) in place, bias (n,) added to every row of a C-contiguous\n"
"float array whose size is a multiple of n; bias None: y = max(y, 0).");

static PyObject *py_bias_relu(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs[2];
    Py_buffer b[2];
    static const char *names[] = {"y", "bias"};
    static const int writable[] = {1, 0}, optional[] = {0, 1};
    if (!PyArg_ParseTuple(args, "OO:bias_relu", &objs[0], &objs[1]))
        return NULL;
    /* one buffer at a time: the bias is shorter than y */
    if (get_buffers("bias_relu", objs, b, names, writable, optional, 1) < 0)
        return NULL;
    if (get_buffers("bias_relu", objs + 1, b + 1, names + 1, writable + 1, optional + 1, 1) < 0) {
        release_buffers(b, 1);
        return NULL;
    }
    Py_ssize_t size = b[0].len / b[0].itemsize, n = size, rows = 1;
    if (b[1].obj != NULL) {
        n = b[1].len / b[1].itemsize;
        if (b[1].itemsize != b[0].itemsize || n == 0 || size % n != 0) {
            PyErr_Format(PyExc_ValueError,
                         "bias_relu: bias of %zd %zd-byte floats doesn't divide y's %zd %zd-byte floats",
                         n, b[1].itemsize, size, b[0].itemsize);
            release_buffers(b, 2);
            return NULL;
        }
        rows = size / n;
    }
    const void *bias = b[1].obj != NULL ? b[1].buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    if (b[0].itemsize == 4) bias_relu_f32(b[0].buf, bias, rows, n);
    else bias_relu_f64(b[0].buf, bias, rows, n);
    Py_END_ALLOW_THREADS
    release_buffers(b, 2);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"adam", py_adam, METH_VARARGS, adam_doc},
    {"sgd", py_sgd, METH_VARARGS, sgd_doc},
    {"maxpool2d_forward", py_maxpool_forward, METH_VARARGS, maxpool_doc},
    {"maxpool2d_backward", py_maxpool_backward, METH_VARARGS, maxpool_doc},
    {"relu", py_relu, METH_VARARGS, relu_doc},
    {"relu_backward", py_relu_backward, METH_VARARGS, relu_backward_doc},
    {"bias_relu", py_bias_relu, METH_VARARGS, bias_relu_doc},
    {"col2im", py_col2im, METH_VARARGS, col2im_doc},
    {"im2col", py_im2col, METH_VARARGS, im2col_doc},
    {"gelu", py_gelu, METH_VARARGS, gelu_doc},
    {"layer_norm_forward", py_layer_norm_forward, METH_VARARGS, layer_norm_doc},
    {"layer_norm_backward", py_layer_norm_backward, METH_VARARGS, layer_norm_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "gradstep.native._kernels",
    "Fused elementwise kernels (see gradstep/native/__init__.py).", -1, methods, NULL, NULL, NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
