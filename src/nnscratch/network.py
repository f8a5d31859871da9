"""The feed-forward network: a list of layers, applied in order, back-propagated in reverse.

``NeuralNetwork`` keeps the blog's constructor (equal hidden layers) and adds
:meth:`NeuralNetwork.from_sizes` for any widths. Inputs are batch-first, ``(N, n_features)``.
"""

import copy
import itertools

import numpy as np

from .activations import Relu, Sigmoid, Softmax
from .conv import Conv2D, MaxPool2D
from .layers import Dropout, Layer
from .losses import get_loss
from .validation import check_array, check_features, check_targets

_CHUNK = 8192  # rows per forward pass when evaluating a whole data set: bounds the memory
#: An architecture's network evaluates as many rows at a time as keep its largest array of
#: one chunk (a convolution's im2col matrix, or a layer's output) within this many bytes, so
#: that each layer finds the previous one's output in cache: 10,000 MNIST images through the
#: cnn recipe's network took 57 us an image in chunks of 58 (this rule) against 100 us in
#: chunks of 512 (the fixed size before), the images recipe's 32x32 colour network 175
#: against 317 us in chunks of 27 (benchmarks/RESULTS.md).
_CHUNK_BYTES = 8 << 20


class NeuralNetwork:
    """Multi-layer perceptron, as in the blog.

    Parameters
    ----------
    input_size, output_size : int
        Number of input features and of outputs.
    hidden_layer_size : int
        Width of every hidden layer.
    num_hidden_layers : int
        Number of hidden layers (at least 1, as in the blog).
    head_activation : activation or None
        Activation of the output layer (``Softmax`` for classification, ``None`` for
        regression).
    hidden_activation : activation
        Activation of the hidden layers (default ``Relu``).
    dtype : {numpy.float32, numpy.float64}
        Dtype of every parameter, activation and gradient (default float32).
    seed : int, optional
        Seed of the network's Generator, used for the initial weights, dropout masks and, by
        default, for the shuffling in :func:`~nnscratch.training.train`.
    rng : numpy.random.Generator, optional
        Use this Generator instead of one built from ``seed``.
    init : {"normal", "he", "glorot"}
        Weight initialiser (the blog's ``N(0, 1/fan_in)`` by default).
    dropout : float
        Dropout rate after each hidden layer (0 = none, as in the blog).
    """

    def __init__(self, input_size, output_size, hidden_layer_size, num_hidden_layers,
                 head_activation=None, hidden_activation=Relu, *, dtype=np.float32,
                 seed=None, rng=None, init="normal", dropout=0.0):
        if not isinstance(num_hidden_layers, (int, np.integer)) or num_hidden_layers < 1:
            raise ValueError(
                f"num_hidden_layers must be an integer >= 1, got {num_hidden_layers!r}")
        sizes = [input_size, *[hidden_layer_size] * num_hidden_layers, output_size]
        self._build(sizes, hidden_activation, head_activation, dtype, seed, rng, init, dropout)

    @classmethod
    def from_sizes(cls, sizes, hidden_activation=Relu, head_activation=None, *,
                   dtype=np.float32, seed=None, rng=None, init="normal", dropout=0.0):
        """Build a network with any layer widths, e.g. ``[784, 256, 128, 10]``.

        ``sizes[0]`` is the number of inputs, ``sizes[-1]`` the number of outputs, and each
        width in between is a hidden layer. ``[784, 10]`` is a single layer.
        """
        network = cls.__new__(cls)
        network._build(list(sizes), hidden_activation, head_activation, dtype, seed, rng,
                       init, dropout)
        return network

    @classmethod
    def from_architecture(cls, architecture, input_shape, n_outputs, *, hidden_activation=Relu,
                          head_activation=None, dtype=np.float32, seed=None, rng=None,
                          init="he", channels_last=True):
        """Build a network from layer descriptions, e.g. a convolutional one.

        Parameters
        ----------
        architecture : list of dict
            As :func:`nnscratch.architecture.parse_arch` returns them (``conv2d``,
            ``maxpool2d``, ``dropout``, ``dense``), in order from the input; the output layer
            of ``n_outputs`` units with ``head_activation`` is added at the end.
        input_shape : tuple of int
            One sample's shape: ``(n_features,)``, or ``(channels, height, width)`` for an
            image. The network takes flat rows ``(N, prod(input_shape))`` and views them
            as images first.
        n_outputs : int
        hidden_activation, head_activation, dtype, seed, rng, init
            As for :meth:`from_sizes`; convolutions and dense layers use
            ``hidden_activation``.
        channels_last : bool, default True
            Image rows hold the pixels in ``(h, w, c)`` order (each pixel's channels
            together, as Pillow gives them); False reads them as ``(c, h, w)`` (model files
            from before colour images). The two are the same for one channel.

        Raises
        ------
        ValueError
            A layer that does not fit the shape it receives, naming both (a kernel larger
            than the padded input, a pool larger than the image, a convolution of a flat
            input).
        """
        network = cls.__new__(cls)
        network._start(dtype, seed, rng, init)
        network.architecture = [dict(layer) for layer in architecture]
        network.input_shape = tuple(int(d) for d in input_shape)
        network.channels_last = bool(channels_last)
        network.layers = _layers_of(network.architecture, network.input_shape, n_outputs,
                                    hidden_activation, head_activation, init, network)
        network.sizes = None  # not a plain stack of dense layers
        network.dropout = 0.0  # dropout is a layer of the architecture
        network._flatten()
        return network

    def _start(self, dtype, seed, rng, init):
        """Check and store what every network has: dtype, Generator, initialiser name."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype.name}")
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        if not isinstance(self.rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self.dtype = dtype
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self.metadata = {}  # filled by nnscratch.load: training config, metrics, versions
        # What a table's rows go through before this network (nnscratch.data.TablePipeline):
        # carried with the model and saved in its file; the network itself never applies it.
        self.pipeline = None
        self.channels_last = True  # image rows are (h, w, c) (see from_architecture)

    def _build(self, sizes, hidden_activation, head_activation, dtype, seed, rng, init,
               dropout):
        """Validate the architecture once and create the layers."""
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
        for i, size in enumerate(sizes):
            if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
                raise ValueError(f"layer sizes must be positive integers, got {size!r} "
                                 f"at position {i} of {sizes}")
        if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self._start(dtype, seed, rng, init)
        self.sizes = [int(s) for s in sizes]
        self.architecture = None  # a plain stack of dense layers, described by sizes
        self.input_shape = (self.sizes[0],)
        self.layers = []
        n_layers = len(sizes) - 1
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            is_head = i == n_layers - 1
            activation = head_activation if is_head else hidden_activation
            self.layers.append(Layer(fan_in, fan_out, activation, init=init, rng=self.rng,
                                     dtype=self.dtype))
            if dropout and not is_head:
                self.layers.append(Dropout(dropout, rng=self.rng))
        self.dropout = float(dropout)
        self._flatten()

    def _flatten(self):
        """Store every parameter in one contiguous vector, and every gradient in another.

        Why: an optimizer step is then a handful of NumPy calls on one vector instead of a
        handful per array; for the blog's small network that per-call overhead is most of
        the step's cost. The layers' ``weights``, ``bias`` and their gradients become views
        of the vectors, with their shapes unchanged.
        """
        arrays = [(layer, name) for layer in self.param_layers
                  for name in ("weights", "bias")]
        total = sum(getattr(layer, name).size for layer, name in arrays)
        self._flat_params = np.empty(total, dtype=self.dtype)
        self._flat_grads = np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer, name in arrays:
            shape = getattr(layer, name).shape
            end = offset + int(np.prod(shape))
            self._flat_params[offset:end] = getattr(layer, name).ravel()
            setattr(layer, name, self._flat_params[offset:end].reshape(shape))
            setattr(layer, f"grad_{name}", self._flat_grads[offset:end].reshape(shape))
            offset = end

    def flat_parameters(self):
        """``(parameters, gradients)`` as two contiguous vectors that the layers' arrays view.

        Updating the first vector in place updates every layer; ``backward`` fills the second.
        """
        linked = all(np.shares_memory(p, self._flat_params) for p in self.parameters())
        if not linked:  # someone replaced a layer's array: gather them again
            self._flatten()
        return self._flat_params, self._flat_grads

    # --- structure ----------------------------------------------------------------------
    @property
    def dense_layers(self):
        """The dense :class:`Layer` objects, in order."""
        return [layer for layer in self.layers if isinstance(layer, Layer)]

    @property
    def _chunk(self):
        """Rows per forward pass in evaluation: for an architecture, as many as keep its
        largest array within ``_CHUNK_BYTES`` (at least one, at most ``_CHUNK``)."""
        if self.architecture is None:
            return _CHUNK
        per_row = _largest_array_per_row(self.layers, self.input_size) * self.dtype.itemsize
        return max(1, min(_CHUNK, _CHUNK_BYTES // per_row))

    @property
    def _first_learned(self):
        """Index of the first layer with parameters (below it no input gradient is needed)."""
        return next(i for i, layer in enumerate(self.layers) if layer.parameters())

    @property
    def param_layers(self):
        """Every layer that has parameters (dense and convolutional), in order."""
        return [layer for layer in self.layers if layer.parameters()]

    @property
    def head(self):
        """The output layer."""
        return self.layers[-1]

    @property
    def activated_layers(self):
        """The hidden layers that apply the hidden activation: every one with parameters but
        the head, less a layer followed by a batchnorm (which applies it instead) and a
        batchnorm of a layer without parameters (a pooling's output: none)."""
        from .normalization import BatchNorm

        found = []
        for i, layer in enumerate(self.layers[:-1]):
            if not layer.parameters():
                continue
            if isinstance(layer, BatchNorm):
                if i and self.layers[i - 1].parameters():
                    found.append(layer)
            elif not isinstance(self.layers[i + 1], BatchNorm):
                found.append(layer)
        return found

    def buffers(self):
        """Arrays that are kept but not learned (each batchnorm's running mean and
        variance), in layer order: saved in model files and checkpoints."""
        return [b for layer in self.layers for b in getattr(layer, "buffers", dict)().values()]

    @property
    def hidden_activation(self):
        """Name of the hidden layers' activation (None for a single-layer network)."""
        activated = self.activated_layers
        return activated[0].activation.name if activated else None

    @property
    def head_activation(self):
        """Name of the output layer's activation."""
        return self.head.activation.name

    @property
    def input_size(self):
        """Features per input row: ``prod(input_shape)``."""
        return int(np.prod(self.input_shape))

    @property
    def output_size(self):
        return self.head.output_size

    def is_classifier(self):
        """True for a Softmax head, or a Sigmoid head (binary / multi-label)."""
        return isinstance(self.head.activation, (Softmax, Sigmoid))

    def parameters(self):
        """Every learned array ``[W1, b1, W2, b2, ...]``; optimizers update them in place."""
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        """The gradients of :meth:`parameters`, in the same order, as left by ``backward``."""
        return [g for layer in self.layers for g in layer.gradients()]

    def n_parameters(self):
        """Total number of learned numbers."""
        return sum(p.size for p in self.parameters())

    def __getstate__(self):
        """Pickle and copy the layers' arrays, not the flat vectors they view."""
        return {k: v for k, v in vars(self).items() if k not in ("_flat_params", "_flat_grads")}

    def __setstate__(self, state):
        vars(self).update(state)
        self._flatten()  # the unpickled arrays are separate: gather them again

    def scale_outputs(self, scale, shift):
        """Fold ``y -> y * scale + shift`` into the output layer, in place.

        Why: a regression target is standardised for training; folding the inverse map into
        the last layer's weights and bias makes every prediction (``predict``, a model file,
        an exported graph) come out in the target's own units with no extra step.

        Parameters
        ----------
        scale, shift : array_like, shape (n_outputs,)

        Raises
        ------
        ValueError
            If the output layer has an activation (the map must be linear), or a shape is off.
        """
        head = self.head
        if getattr(head.activation, "name", None) != "identity":
            raise ValueError("scale_outputs needs a linear output layer (a regressor), got "
                             f"{type(head.activation).__name__}")
        scale, shift = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (scale, shift))
        if scale.shape != (self.output_size,) or shift.shape != (self.output_size,):
            raise ValueError(f"scale and shift must have shape ({self.output_size},), got "
                             f"{scale.shape} and {shift.shape}")
        head.weights[...] = head.weights * scale
        head.bias[...] = head.bias * scale + shift

    def copy(self):
        """An independent deep copy (same weights; its own Generator state)."""
        return copy.deepcopy(self)

    def binary_as_softmax(self):
        """A copy whose one sigmoid output is two softmax outputs with the same
        probabilities: ``softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)]``.

        Why: scikit-learn's binary classifier (and so :class:`~nnscratch.sklearn.NNClassifier`)
        has a single logistic output, the command line's classifiers a softmax over the
        classes; the copy is a model file of the command line's kind that predicts the same.

        Raises
        ------
        ValueError
            If the head is not a single sigmoid output.
        """
        head = self.head
        if not (isinstance(head.activation, Sigmoid) and head.output_size == 1):
            raise ValueError("binary_as_softmax needs a single sigmoid output, got "
                             f"{head.output_size} {head.activation.name!r} outputs")
        network = self.copy()
        twin = Layer(head.input_size, 2, Softmax, dtype=self.dtype)
        twin.weights[...] = np.hstack([np.zeros_like(head.weights), head.weights])
        twin.bias[...] = np.hstack([np.zeros_like(head.bias), head.bias])
        network.layers[-1] = twin
        if network.sizes is not None:
            network.sizes[-1] = 2
        network._flatten()
        return network

    def astype(self, dtype):
        """A deep copy whose parameters and gradients have ``dtype``."""
        network = self.copy()
        network.dtype = np.dtype(dtype)
        for layer in network.param_layers:
            for name in ("weights", "bias", *getattr(layer, "buffers", dict)()):
                setattr(layer, name, getattr(layer, name).astype(dtype))
        network._flatten()
        return network

    def __repr__(self):
        if self.architecture is not None:
            from .architecture import format_arch

            shape = "x".join(map(str, self.input_shape))
            return (f"NeuralNetwork({shape} -> {format_arch(self.architecture)} -> "
                    f"{self.output_size}, hidden={self.hidden_activation!r}, "
                    f"head={self.head_activation!r}, dtype={self.dtype.name})")
        sizes = "-".join(map(str, self.sizes))
        return (f"NeuralNetwork({sizes}, hidden={self.hidden_activation!r}, "
                f"head={self.head_activation!r}, dtype={self.dtype.name}, "
                f"dropout={self.dropout})")

    # --- forward and backward -----------------------------------------------------------
    def forward(self, x, training=False):
        """Output of the network for a batch ``x`` of shape ``(N, input_size)``.

        ``x`` is converted to the network's dtype. ``training=True`` turns dropout on.
        """
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            got = f"{x.shape[1]} features" if x.ndim == 2 else f"shape {x.shape}"
            raise ValueError(f"X has {got}; the network expects {self.input_size} features "
                             f"(shape (n_samples, {self.input_size}))")
        return self._forward(x, training)

    def _forward(self, x, training=False):
        """Forward pass without validation (the training loop's inner call)."""
        return self._run(x, len(self.layers), training)

    def _run(self, x, n_layers, training=False):
        """The output of the first ``n_layers`` layers for ``x``.

        A ReLU convolution followed by a max pooling is run as convolution, pooling, ReLU:
        the same numbers, since ``max(relu(z)) == relu(max(z))``, but the ReLU and its
        gradient then pass over a quarter of the map (a 2x2 pooling's output) instead of
        the whole of it: the largest maps of an image network (benchmarks/RESULTS.md, "Your
        own images"). The backward pass follows the same plan (``_relu_after_pool``).
        """
        layers = self.layers
        pooled = self._relu_after_pool = frozenset(
            i for i in range(n_layers - 1)
            if isinstance(layers[i], Conv2D) and type(layers[i].activation) is Relu
            and isinstance(layers[i + 1], MaxPool2D))
        i = 0
        while i < n_layers:
            if i in pooled:
                conv, pool = layers[i], layers[i + 1]
                x = conv.activation.forward(pool.forward(conv.forward_z(x), training))
                i += 2
            else:
                x = layers[i].forward(x, training)
                i += 1
        return x

    def backward(self, loss_grad, learning_rate=None, *, input_grad=False):
        """Back-propagate ``loss_grad = dL/d(output)`` (N, output_size) through every layer.

        Each layer stores its parameter gradients. With ``learning_rate`` each layer also
        takes a plain SGD step, as in the blog. Returns ``dL/dx`` (N, input_size) when
        ``input_grad=True``, else None (the first layer then skips that product).
        """
        return self._backward_from(len(self.layers) - 1, loss_grad, learning_rate,
                                   input_grad, through_head=True)

    def _backward_from(self, last, grad, learning_rate, input_grad, through_head):
        """Back-propagate from layer ``last`` down to the first layer."""
        first = self._first_learned  # below it no layer learns: no dL/dx is needed
        pooled = getattr(self, "_relu_after_pool", frozenset())  # see _run
        for i in range(last, -1, -1):
            layer = self.layers[i]
            need = input_grad or i > first
            if i - 1 in pooled:  # a pooling whose ReLU came after it: that ReLU's gradient
                grad = layer.backward(self.layers[i - 1].activation.backward(grad),
                                      input_grad=True)
            elif i in pooled:  # its convolution: the pooling gave the gradient at z
                grad = layer.backward_z(grad, learning_rate, input_grad=need)
            elif i == last and not through_head:
                grad = layer.backward_z(grad, learning_rate, input_grad=need)
            else:
                grad = layer.backward(grad, learning_rate, input_grad=need)
        return grad

    def backprop(self, loss_fn, y_pred, y_true, *, input_grad=False, grad_scale=1.0):
        """Loss of a forward pass's output, and every parameter's gradient (stored).

        Uses the fused logit form when ``loss_fn`` pairs with the head activation
        (cross-entropy after Softmax, binary cross-entropy after Sigmoid): the loss comes
        from the logits and the gradient at the logits is ``(p - y) / N``.

        Parameters
        ----------
        loss_fn : Loss class or instance
        y_pred : ndarray, shape (N, output_size)
            The output of the latest :meth:`forward` call.
        y_true : ndarray, shape (N, output_size) or (N,) integer labels
        input_grad : bool
            Also compute ``dL/dx``.
        grad_scale : float or ndarray of shape (N, 1)
            Back-propagate ``grad_scale * dL/d(output)``: every stored gradient (and
            ``dL/dx``) is then scaled by it too, since back-propagation is linear.
            :func:`~nnscratch.training.train` passes the learning rate for plain SGD; a
            column scales each sample's share (sample weights).

        Returns
        -------
        loss : float
        d_input : ndarray of shape (N, input_size), or None
        """
        loss = self._loss_of(loss_fn, y_pred, y_true)
        fused = loss_fn.fuses_with(self.head.activation)
        if fused:
            self.output_grad = loss_fn.grad_from_logits(y_pred, y_true)  # dL/dz of the head
        else:
            self.output_grad = loss_fn.grad(y_pred, y_true)  # dL/d(output)
        scalar = np.ndim(grad_scale) == 0
        grad = self.output_grad if scalar and grad_scale == 1 else self.output_grad * grad_scale
        return loss, self._backward_from(len(self.layers) - 1, grad, None, input_grad,
                                         through_head=not fused)

    def _loss_of(self, loss_fn, y_pred, y_true):
        """Loss of the latest forward pass (from the head's logits where fused)."""
        if not loss_fn.fuses_with(self.head.activation):
            return loss_fn.loss(y_pred, y_true)
        if isinstance(self.head.activation, Softmax):  # its forward kept log p: reuse it
            return loss_fn.loss_from_log_probs(self.head.activation.log_output, y_true)
        return loss_fn.loss_from_logits(self.head.z, y_true)

    def train_batch(self, x, y, loss_fn, *, grad_scale=1.0):
        """One training step's forward and backward pass on a validated batch.

        Runs :meth:`forward` in training mode (dropout on) and :meth:`backprop`; every
        parameter's gradient, times ``grad_scale``, is left in :meth:`gradients`.

        Parameters
        ----------
        x : ndarray, shape (B, input_size), the network's dtype
        y : ndarray, shape (B, output_size) or (B,) integer labels
        loss_fn : Loss
        grad_scale : float
            See :meth:`backprop`.

        Returns
        -------
        loss : float
            The batch's mean loss.
        grad_size : float
            The mean absolute gradient at the output layer, ``mean |dL/dz|`` (the blog's
            ``avg_grad``).
        """
        loss, _ = self.backprop(loss_fn, self._forward(x, training=True), y,
                                grad_scale=grad_scale)
        return loss, float(np.abs(self.output_grad).sum()) / self.output_grad.size

    def loss(self, X, y, loss_fn):
        """Mean loss on a whole data set ``(X, y)``, in evaluation mode and in chunks."""
        loss_fn = get_loss(loss_fn)
        X = check_features(X, self)
        return self.evaluate(X, check_targets(y, self, loss_fn, len(X)), loss_fn)[0]

    def evaluate(self, X, y, loss_fn):
        """Mean loss and score on a validated data set, in evaluation mode and in chunks.

        The training loop calls it every epoch, so it does not check its input again: ``X``
        and ``y`` are as :func:`~nnscratch.validation.check_features` and
        :func:`~nnscratch.validation.check_targets` return them.

        Returns
        -------
        loss : float
        score : float
            Accuracy for a softmax or sigmoid head; the coefficient of determination R^2
            (averaged over the outputs, as scikit-learn's ``r2_score``) otherwise.
        """
        total, hits, squares = 0.0, 0, 0.0
        chunk = self._chunk
        for i in range(0, len(X), chunk):
            xb, yb = X[i:i + chunk], y[i:i + chunk]
            out = self._forward_only(xb, len(self.layers))
            total += self._loss_of(loss_fn, out, yb) * len(xb)
            if isinstance(self.head.activation, Softmax):
                labels = yb if yb.ndim == 1 else np.argmax(yb, axis=1)
                hits += int(np.count_nonzero(np.argmax(out, axis=1) == labels))
            elif isinstance(self.head.activation, Sigmoid):
                hits += int(np.count_nonzero((out >= 0.5) == (yb >= 0.5))) / out.shape[1]
            else:
                squares += np.sum((out - yb) ** 2, axis=0, dtype=np.float64)
        if isinstance(self.head.activation, (Softmax, Sigmoid)):
            score = hits / len(X)
        else:
            spread = np.sum((y - y.mean(axis=0)) ** 2, axis=0, dtype=np.float64)
            r2 = 1 - squares / np.where(spread > 0, spread, 1)
            score = float(np.mean(np.where(spread > 0, r2, 0.0)))
        return total / len(X), float(score)

    # --- inference ----------------------------------------------------------------------
    def _output(self, X):
        """Validated forward pass in chunks (evaluation mode)."""
        return self._forward_in_chunks(check_features(X, self), len(self.layers))

    def _forward_in_chunks(self, X, n_layers):
        """The output of the first ``n_layers`` layers, a chunk of rows at a time."""
        chunk = self._chunk
        if len(X) <= chunk:
            return self._forward_only(X, n_layers)
        return np.concatenate([self._forward_only(X[i:i + chunk], n_layers)
                               for i in range(0, len(X), chunk)])

    def _forward_only(self, x, n_layers):
        """:meth:`_run` in evaluation mode when no backward pass will follow: a 2x2 max
        pooling then lets go of the input it keeps in case one does (a convolution's whole
        output, which would otherwise live on until the next forward pass)."""
        out = self._run(x, n_layers)
        for layer in self.layers[:n_layers]:
            if isinstance(layer, MaxPool2D):
                layer.forget_input()
        return out

    def representation(self, X, layer=-1):
        """Output of dense layer ``layer`` (after its activation) for ``X``, evaluation mode.

        ``layer=-1`` is the network's output, ``-2`` the last hidden layer, ``0`` the first.
        Returns an array of shape ``(N, sizes[layer])``.
        """
        dense = self.dense_layers
        if not isinstance(layer, int) or not -len(dense) <= layer < len(dense):
            raise ValueError(f"layer must be an integer in [{-len(dense)}, {len(dense) - 1}] "
                             f"for this {len(dense)}-layer network, got {layer!r}")
        n_layers = self.layers.index(dense[layer]) + 1
        return self._forward_in_chunks(check_features(X, self), n_layers)

    def layer_outputs(self, X):
        """Every layer's output for ``X`` (evaluation mode): ``[(layer, output), ...]``.

        For a few samples (figures, a web page): the whole batch goes through at once.
        Convolutional outputs have shape ``(N, C, H, W)``, dense ones ``(N, units)``.
        """
        x = check_features(X, self)
        outputs = []
        self._relu_after_pool = frozenset()  # a backward pass after this one: layer by layer
        for layer in self.layers:
            x = layer.forward(x)
            outputs.append((layer, x.copy()))
        return outputs

    def predict_proba(self, X):
        """Class probabilities ``(N, n_classes)`` for a Softmax or single-output Sigmoid head.

        For a single sigmoid output the two columns are ``P(0)`` and ``P(1)``.
        """
        if not self.is_classifier():
            raise ValueError("predict_proba needs a softmax or sigmoid head; this network's "
                             f"head is {self.head_activation!r}")
        p = self._output(X)
        if isinstance(self.head.activation, Sigmoid) and p.shape[1] == 1:
            return np.hstack([1 - p, p])
        return p

    def predict(self, X):
        """Predictions for ``X`` (N, input_size).

        Softmax head: class indices ``(N,)``. Sigmoid head: 0/1 labels, ``(N,)`` for one
        output, ``(N, K)`` for several (multi-label). Any other head: the raw outputs.
        """
        out = self._output(X)
        if isinstance(self.head.activation, Softmax):
            return np.argmax(out, axis=1)
        if isinstance(self.head.activation, Sigmoid):
            labels = (out >= 0.5).astype(np.int64)
            return labels[:, 0] if labels.shape[1] == 1 else labels
        return out.copy()

    def score(self, X, y):
        """Accuracy for a classifier (``y`` integer labels or one-hot)."""
        y = check_array(y, "y", ndim=(1, 2))
        if isinstance(self.head.activation, Softmax) and y.ndim == 2:
            y = np.argmax(y, axis=1)
        predictions = self.predict(X)
        if len(y) != len(predictions):
            raise ValueError(f"y has {len(y)} samples but X has {len(predictions)}; they "
                             "must match")
        return float(np.mean(predictions == y))


def _shape_after(layer, shape):
    """The per-sample shape ``layer`` gives for an input of ``shape`` (a layer without
    ``output_shape``, e.g. dropout, keeps it)."""
    if isinstance(layer, Layer):
        return (layer.output_size,)
    if hasattr(layer, "output_shape"):
        return layer.output_shape(shape)
    return shape


def _largest_array_per_row(layers, input_size):
    """The most numbers one input row makes a layer hold at once: a layer's output, or a
    convolution's im2col rows (one per output pixel, ``k*k*C + 1`` numbers each)."""
    shape, largest = (input_size,), input_size
    for layer in layers:
        before, shape = shape, _shape_after(layer, shape)
        largest = max(largest, int(np.prod(shape)))
        if isinstance(layer, Conv2D):
            k = layer.kernel_size
            largest = max(largest, shape[1] * shape[2] * (k * k * before[0] + 1))
    return largest


def _layers_of(architecture, input_shape, n_outputs, hidden, head, init, network):
    """The layers an architecture describes, each checked against the shape it receives."""
    from .architecture import is_convolutional
    from .conv import ChannelsLast, Conv2D, Flatten, MaxPool2D, Reshape
    from .normalization import BatchNorm
    from .pooling import AvgPool2D, GlobalAvgPool, SubtractImageMean

    shape, layers = (int(np.prod(input_shape)),), []

    def add(layer):
        nonlocal shape
        shape = _shape_after(layer, shape)
        layers.append(layer)

    def flat():
        if len(shape) > 1:
            add(Flatten())

    options = {"init": init, "rng": network.rng, "dtype": network.dtype}

    def activation(i):  # a layer followed by batchnorm leaves the activation to it
        follows = i < len(architecture) and architecture[i]["type"] == "batchnorm"
        return None if follows else hidden

    if is_convolutional(architecture):
        if len(input_shape) != 3:
            raise ValueError(f"convolutions need images: an input of shape (channels, height, "
                             f"width), got {tuple(input_shape)}")
        multi = network.channels_last and input_shape[0] > 1
        add(ChannelsLast(input_shape) if multi else Reshape(input_shape))
    for i, spec in enumerate(architecture, start=1):
        kind = spec["type"]
        try:
            if kind == "conv2d":
                add(Conv2D(shape[0], spec["out"], spec["kernel"], stride=spec["stride"],
                           padding=spec["padding"], activation=activation(i), **options))
            elif kind == "maxpool2d":
                add(MaxPool2D(spec["size"]))
            elif kind == "avgpool2d":
                add(AvgPool2D(spec["size"]))
            elif kind == "globalavgpool":
                add(GlobalAvgPool())
            elif kind == "center":
                add(SubtractImageMean())
            elif kind == "dropout":
                add(Dropout(spec["rate"], rng=network.rng))
            elif kind == "dense":
                flat()
                add(Layer(shape[0], spec["units"], activation(i), **options))
            elif kind == "batchnorm":
                after = layers and isinstance(layers[-1], (Layer, Conv2D))
                norm = BatchNorm(shape[0], hidden if after else None, dtype=network.dtype)
                norm.output_shape(shape)
                add(norm)
            else:
                raise ValueError(f"unknown layer type {kind!r}")
        except ValueError as exc:
            raise ValueError(f"layer {i} ({kind}): {exc}") from None
    flat()
    add(Layer(shape[0], n_outputs, head, **options))
    return layers
