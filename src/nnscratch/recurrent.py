"""Recurrent layers: ``RNN`` (tanh), ``LSTM`` and ``GRU``, batch-first, one layer each.

Each reads ``(N, T, D)`` and returns every step's hidden state, ``(N, T, H)``, starting from
a zero state. The parameters have PyTorch's names, shapes and gate order, so weights copy
from ``torch.nn.RNN/LSTM/GRU(D, H, batch_first=True)`` (its ``weight_ih_l0`` is our
``weight_ih``, and so on):

    weight_ih (G*H, D), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,)

with ``G`` gates: 1 for the RNN, 4 for the LSTM (input, forget, cell, output), 3 for the GRU
(reset, update, new). The input's contribution to every step is one matrix product before
the loop; only the recurrence ``h_{t-1} -> h_t`` runs step by step. Backward is
back-propagation through time: the same loop in reverse, carrying ``dL/dh`` (and the LSTM's
``dL/dc``) from each step to the one before; the weights' gradients are again one product
over all steps after it. Internally the steps are the first axis (``(T, N, .)``), so each
step's slice is contiguous.
"""

import math

import numpy as np

from .activations import _sigmoid
from .layerbase import ParamLayer, check_input, check_sizes, setup, uniform


class _Recurrent(ParamLayer):
    """Parameters, checks and the shared before/after products of the recurrent layers."""

    gates = 1
    param_names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

    def __init__(self, input_size, hidden_size, *, rng=None, dtype=np.float32):
        input_size, hidden_size = check_sizes(input_size=input_size, hidden_size=hidden_size)
        rng, self.dtype = setup(rng, dtype)
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1 / math.sqrt(hidden_size)   # PyTorch: every parameter U(-1/sqrt(H), 1/sqrt(H))
        g = self.gates * hidden_size
        for name, shape in (("weight_ih", (g, input_size)), ("weight_hh", (g, hidden_size)),
                            ("bias_ih", (g,)), ("bias_hh", (g,))):
            self._new_param(name, uniform(rng, bound, shape, self.dtype))

    def config(self):
        return {"input_size": self.input_size, "hidden_size": self.hidden_size}

    def _input_part(self, x):
        """``x @ weight_ih.T + bias_ih`` for every step at once, time-major: ``(T, N, G*H)``."""
        check_input(self, x, 3, self.input_size)
        n, t, _ = x.shape
        self.x_steps = np.ascontiguousarray(x.transpose(1, 0, 2))            # (T, N, D)
        part = self.x_steps.reshape(t * n, -1) @ self.weight_ih.T              # (TN, G*H)
        part += self.bias_ih
        return part.reshape(t, n, -1)

    def _weight_grads(self, d_in, d_rec, input_grad):
        """The weights' gradients from every step's pre-activation gradients, and ``dL/dx``.

        ``d_in`` (T, N, G*H) is the gradient at ``x W_ih^T + b_ih``, ``d_rec`` at
        ``h_{t-1} W_hh^T + b_hh`` (the same but for the GRU's new gate); the previous states
        ``self.h[:-1]`` are what multiplied ``weight_hh``.
        """
        t, n, g = d_in.shape
        d_in_rows, d_rec_rows = d_in.reshape(t * n, g), d_rec.reshape(t * n, g)
        np.matmul(d_in_rows.T, self.x_steps.reshape(t * n, -1), out=self.grad_weight_ih)
        np.matmul(d_rec_rows.T, self.h[:-1].reshape(t * n, -1), out=self.grad_weight_hh)
        np.add.reduce(d_in_rows, axis=0, out=self.grad_bias_ih)
        np.add.reduce(d_rec_rows, axis=0, out=self.grad_bias_hh)
        if not input_grad:
            return None
        return (d_in_rows @ self.weight_ih).reshape(t, n, -1).transpose(1, 0, 2)  # (N, T, D)

    def _states(self, t, n, dtype):
        """``h`` of shape (T + 1, N, H) with the zero initial state at index 0."""
        self.h = np.empty((t + 1, n, self.hidden_size), dtype=dtype)
        self.h[0] = 0
        return self.h

    def _output(self):
        """Every step's hidden state, batch-first ``(N, T, H)``."""
        return np.ascontiguousarray(self.h[1:].transpose(1, 0, 2))

    def _d_steps(self, d_output):
        """``dL/dh_t`` from the layer's output, time-major ``(T, N, H)``."""
        return d_output.transpose(1, 0, 2)


class RNN(_Recurrent):
    """Elman RNN ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, ``(N, T, D) ->
    (N, T, H)``.

    Parameters
    ----------
    input_size, hidden_size : int
        ``D`` and ``H``.
    rng : numpy.random.Generator or int, optional
        Source of the initial weights, ``U(-1/sqrt(H), 1/sqrt(H))`` as PyTorch's.
    dtype : {"float32", "float64"}
    """

    cache_names = ("x_steps", "h")

    def forward(self, x, training=False):
        part = self._input_part(x)                                      # (T, N, H)
        part += self.bias_hh
        t, n, _ = part.shape
        h = self._states(t, n, part.dtype)
        for s in range(t):
            a = h[s] @ self.weight_hh.T
            a += part[s]
            np.tanh(a, out=h[s + 1])
        return self._output()

    def _backward(self, d_output, input_grad):
        d_h_out = self._d_steps(d_output)                               # (T, N, H)
        t = d_h_out.shape[0]
        d_a = np.empty((t, *d_h_out.shape[1:]), dtype=d_output.dtype)  # at the pre-activation
        carry = np.zeros_like(d_h_out[0])                               # dL/dh_t from step t+1
        for s in reversed(range(t)):
            d_h = d_h_out[s] + carry
            h = self.h[s + 1]
            np.multiply(d_h, 1 - h * h, out=d_a[s])                     # tanh' = 1 - tanh^2
            carry = d_a[s] @ self.weight_hh
        return self._weight_grads(d_a, d_a, input_grad)


class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's equations::

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_t W_ih^T + b_ih + h W_hh^T + b_hh)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    ``(N, T, D) -> (N, T, H)`` (the hidden states; the cell states stay inside).
    Parameters as :class:`RNN`'s; the weights stack the four gates, ``(4H, .)``.
    """

    gates = 4
    cache_names = ("x_steps", "h", "c", "acts", "tanh_c")

    def forward(self, x, training=False):
        part = self._input_part(x)                                      # (T, N, 4H)
        part += self.bias_hh
        t, n, _ = part.shape
        hs = self.hidden_size
        h = self._states(t, n, part.dtype)
        self.c = np.zeros_like(h)                                       # (T + 1, N, H)
        self.acts = np.empty_like(part)                                 # i, f, g, o
        self.tanh_c = np.empty((t, n, hs), dtype=part.dtype)
        # why tanh for every gate: sigmoid(a) = (1 + tanh(a / 2)) / 2, so one tanh of the
        # pre-activations scaled by [1/2, 1/2, 1, 1/2] per gate, then one multiply-add,
        # gives the four gates with no overflow and few passes over the array
        one = part.dtype.type(1)
        half = part.dtype.type(0.5)
        scale = np.array([half, half, one, half], dtype=part.dtype).repeat(hs)   # (4H,)
        shift = np.array([half, half, 0, half], dtype=part.dtype).repeat(hs)
        for s in range(t):
            a = h[s] @ self.weight_hh.T
            a += part[s]
            a *= scale
            act = np.tanh(a, out=self.acts[s])
            act *= scale
            act += shift
            i, f, g, o = act[:, :hs], act[:, hs:2 * hs], act[:, 2 * hs:3 * hs], act[:, 3 * hs:]
            c = self.c[s + 1]
            np.multiply(f, self.c[s], out=c)
            c += i * g
            np.tanh(c, out=self.tanh_c[s])
            np.multiply(o, self.tanh_c[s], out=h[s + 1])
        return self._output()

    def _backward(self, d_output, input_grad):
        d_h_out = self._d_steps(d_output)
        t, n, hs = d_h_out.shape
        acts = self.acts.reshape(t, n, 4, hs)
        i, f, g, o = (acts[:, :, k] for k in range(4))
        # Everything but dL/dh and dL/dc is known after the forward pass, so it is computed
        # for all steps at once: each gate's derivative times what it multiplied
        # (c_t = f c_{t-1} + i g, h_t = o tanh(c_t)):
        local = np.empty_like(acts)                                     # (T, N, 4, H)
        np.multiply(acts, 1 - acts, out=local)                          # sigmoid'
        local[:, :, 2] = 1 - g * g                                      # tanh' for g
        local[:, :, 0] *= g                                             # dc/di = g
        local[:, :, 1] *= self.c[:-1]                                   # dc/df = c_{t-1}
        local[:, :, 2] *= i                                             # dc/dg = i
        local[:, :, 3] *= self.tanh_c                                   # dh/do = tanh(c)
        dc_from_h = o * (1 - self.tanh_c * self.tanh_c)                 # dh/dc, (T, N, H)
        d_a = np.empty_like(acts)                                       # (T, N, 4, H)
        carry_h = np.zeros_like(d_h_out[0])
        carry_c = np.zeros_like(d_h_out[0])
        for s in reversed(range(t)):
            d_h = d_h_out[s] + carry_h
            d_c = d_h * dc_from_h[s]
            d_c += carry_c
            np.multiply(d_c[:, None], local[s, :, :3], out=d_a[s, :, :3])   # i, f, g
            np.multiply(d_h, local[s, :, 3], out=d_a[s, :, 3])               # o
            carry_c = d_c * f[s]
            carry_h = d_a[s].reshape(n, 4 * hs) @ self.weight_hh
        d_a = d_a.reshape(t, n, 4 * hs)
        return self._weight_grads(d_a, d_a, input_grad)


class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al., 2014), PyTorch's equations::

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h_t = (1 - z) * n + z * h_{t-1}

    ``(N, T, D) -> (N, T, H)``. Parameters as :class:`RNN`'s; the weights stack the three
    gates in the order ``r, z, n``, ``(3H, .)``. The biases ``b_hn`` and ``b_in`` are not
    interchangeable (``r`` multiplies one of them), which is why both exist.
    """

    gates = 3
    cache_names = ("x_steps", "h", "acts", "rec_n")

    def forward(self, x, training=False):
        part = self._input_part(x)                                      # (T, N, 3H)
        t, n, _ = part.shape
        hs = self.hidden_size
        h = self._states(t, n, part.dtype)
        self.acts = np.empty_like(part)                                 # r, z, n after f
        self.rec_n = np.empty((t, n, hs), dtype=part.dtype)             # h W_hn^T + b_hn
        for s in range(t):
            rec = h[s] @ self.weight_hh.T
            rec += self.bias_hh                                         # (N, 3H)
            act = self.acts[s]
            act[:, :2 * hs] = _sigmoid(part[s, :, :2 * hs] + rec[:, :2 * hs])   # r, z
            self.rec_n[s] = rec[:, 2 * hs:]
            r, z = act[:, :hs], act[:, hs:2 * hs]
            new = act[:, 2 * hs:]
            np.tanh(part[s, :, 2 * hs:] + r * self.rec_n[s], out=new)
            # h_t = n + z (h_{t-1} - n)
            np.multiply(z, h[s] - new, out=h[s + 1])
            h[s + 1] += new
        return self._output()

    def _backward(self, d_output, input_grad):
        d_h_out = self._d_steps(d_output)
        t = d_h_out.shape[0]
        hs = self.hidden_size
        d_in = np.empty_like(self.acts)     # at x W_ih^T + b_ih, (T, N, 3H)
        d_rec = np.empty_like(self.acts)    # at h W_hh^T + b_hh
        carry = np.zeros_like(d_h_out[0])
        for s in reversed(range(t)):
            act = self.acts[s]
            r, z, new = act[:, :hs], act[:, hs:2 * hs], act[:, 2 * hs:]
            d_h = d_h_out[s] + carry
            d_new = d_h * (1 - z) * (1 - new * new)                     # through n's tanh
            di, dr = d_in[s], d_rec[s]
            np.multiply(d_new * self.rec_n[s], r * (1 - r), out=di[:, :hs])        # reset
            np.multiply(d_h * (self.h[s] - new), z * (1 - z), out=di[:, hs:2 * hs])  # update
            di[:, 2 * hs:] = d_new
            dr[:, :2 * hs] = di[:, :2 * hs]
            np.multiply(d_new, r, out=dr[:, 2 * hs:])
            carry = dr @ self.weight_hh
            carry += d_h * z
        return self._weight_grads(d_in, d_rec, input_grad)
