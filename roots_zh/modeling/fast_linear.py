"""A linear layer whose bias gradient is a GEMM: Paddle's CPU kernels take 30-40 ms to sum a
[4096, 1024] gradient over its rows (the bias grad of ``x @ W + b``) and ~11 ms to add the bias,
while MKL does ``ones[1, N] @ dY`` in 0.3 ms. Training one FFN-sized linear (32x128 tokens,
256 -> 1024) forward + backward: 107-134 ms with ``F.linear``, 34-41 ms here, same results to fp32
rounding (``tests/modeling/test_modeling.py``). Used while training in dygraph (pretraining, 32x128 batches:
3,700-3,770 vs 3,010-3,090 tokens/s). Under ``to_static`` the PyLayer made training slower (1,640-2,050
vs 2,500-2,640 tokens/s; PIR's PyLayer save/restore, ``tuple_push``, is among the top costs in its
profile), so traced graphs and exports run plain ``F.linear``; exported models hold only standard ops.
In eager inference (no gradient: eval, decoding) and in the training forward above, the bias is added
inside the GEMM (``paddle.addmm``): ``F.linear`` adds it in a second, slower kernel.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.autograd import PyLayer

_GEMM_BIAS_GRAD = True


def set_gemm_bias_grad(enabled: bool) -> None:
    """Switch the GEMM bias gradient on (default) or off (plain ``F.linear``; for benchmarks)."""
    global _GEMM_BIAS_GRAD
    _GEMM_BIAS_GRAD = bool(enabled)


class _LinearWithGemmBiasGrad(PyLayer):
    """``y = x @ W + b`` (``W`` is ``[in, out]``, or ``[out, in]`` with ``transpose_weight``)."""

    @staticmethod
    def forward(ctx, x, weight, bias, transpose_weight: bool = False):
        x2 = x.reshape([-1, x.shape[-1]])
        ctx.save_for_backward(x2, weight)
        ctx.transpose_weight = transpose_weight
        ctx.needs_grad = (not x.stop_gradient, not weight.stop_gradient, not bias.stop_gradient)
        y = (paddle.matmul(x2, weight, transpose_y=True) + bias.unsqueeze(0) if transpose_weight
             else paddle.addmm(bias, x2, weight))
        out_features = weight.shape[0] if transpose_weight else weight.shape[1]
        return y.reshape(list(x.shape[:-1]) + [out_features])

    @staticmethod
    def backward(ctx, dy):
        x2, weight = ctx.saved_tensor()
        need_x, need_w, need_b = ctx.needs_grad
        dy2 = dy.reshape([-1, dy.shape[-1]])
        dx = dw = db = None  # PyLayer wants None for inputs that need no gradient
        if need_x:
            dx = paddle.matmul(dy2, weight, transpose_y=not ctx.transpose_weight)
            dx = dx.reshape(list(dy.shape[:-1]) + [x2.shape[-1]])
        if need_w:  # W: [out, in] when transposed (y = x @ W^T), else [in, out]
            dw = (paddle.matmul(dy2, x2, transpose_x=True) if ctx.transpose_weight
                  else paddle.matmul(x2, dy2, transpose_x=True))
        if need_b:
            db = paddle.matmul(paddle.ones([1, dy2.shape[0]], dtype=dy2.dtype), dy2).reshape([-1])
        return dx, dw, db


def _addmm(x, weight, bias):
    """``x @ W + b`` as one GEMM that adds the bias itself (``paddle.addmm``). Eager ``F.linear`` adds
    it in a second kernel: 37 vs 14-23 us for one decoding step's [1, 256] x [256, 1024], 25.0 vs 17.4 ms
    at [4096, 256] on 2 cores; same values to fp32 rounding."""
    if x.ndim == 2:
        return paddle.addmm(bias, x, weight)
    shape = list(x.shape)
    return paddle.addmm(bias, x.reshape([-1, shape[-1]]), weight).reshape(shape[:-1] + [weight.shape[1]])


def linear(x, weight, bias=None, transpose_weight: bool = False, training: bool = True):
    """``F.linear`` semantics; in training with a bias, the bias gradient is computed as a GEMM; in eager
    inference (no gradient) the bias is added inside the GEMM."""
    eager = paddle.in_dynamic_mode()
    needs_grad = eager and paddle.is_grad_enabled() and not (
        x.stop_gradient and weight.stop_gradient and (bias is None or bias.stop_gradient))
    if training and _GEMM_BIAS_GRAD and bias is not None and needs_grad:
        return _LinearWithGemmBiasGrad.apply(x, weight, bias, transpose_weight)
    if not transpose_weight:
        if eager and not needs_grad and bias is not None and bias.ndim == 1:
            return _addmm(x, weight, bias)
        return F.linear(x, weight, bias)
    y = paddle.matmul(x, weight, transpose_y=True)
    return y + bias if bias is not None else y


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters and names) that trains with :func:`linear`."""

    def forward(self, x):
        return linear(x, self.weight, self.bias, training=self.training)
