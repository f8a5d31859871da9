"""The recipes beyond the blog: a regression recipe, and reduced MNIST ``best`` and ``cnn``
recipes that catch a regression in the optimizers, schedules, dropout or BatchNorm."""

import numpy as np
import pytest

from nnscratch.data import REGRESSION_FUNCTIONS, load_mnist
from nnscratch.experiment import fit_regression, run_training
from nnscratch.recipes import RECIPES, make_config


@pytest.mark.parametrize("name", REGRESSION_FUNCTIONS)
def test_regression_recipe_fits_each_function(name):
    """The documented regression recipe fits x^2, |x| and 3 sin x to MSE <= 1e-3."""
    _, _, _, mse = fit_regression(name, "best", seed=0)
    assert mse <= 1e-3


def test_best_recipe_reduced_reaches_a_floor():
    """Two epochs of the best recipe (AdamW, dropout, one-cycle, He init, shifted images) on
    60,000 images."""
    data = load_mnist(split="standard", progress=False)
    config = make_config("best", epochs=2, patience=None)
    result = run_training(config, data=data, bar=False, log=lambda *a, **k: None)
    assert config["optimizer"] == "adamw" and config["dropout"] > 0
    assert config["augment"] == "shift" and config["schedule"] == "onecycle"
    assert result.metrics["test_accuracy"] >= 0.965  # measured 0.9734 (seed 0)
    # one-cycle: past its peak (30% of the steps) after the first epoch, ~0 after the last
    lr = config["lr"]
    assert lr / 2 < result.history.learning_rates[0] < lr
    assert result.history.learning_rates[1] < lr / 100
    assert np.isfinite(result.history.val_losses).all()


def test_cnn_recipe_reduced_reaches_a_floor():
    """Four epochs of the cnn recipe (BatchNorm after each pooling, shifted images, label
    smoothing, one-cycle) on the first 10,000 training images, tested on the first 2,000 test
    images (notebook 02's quick mode)."""
    import dataclasses

    data = load_mnist(split="standard", progress=False)
    data = dataclasses.replace(data, X_train=data.X_train[:10000], y_train=data.y_train[:10000],
                               X_test=data.X_test[:2000], y_test=data.y_test[:2000])
    config = make_config("cnn", epochs=4)
    result = run_training(config, data=data, bar=False, log=lambda *a, **k: None)
    assert config["arch"].count("bn") == 2 and config["label_smoothing"] == 0.1
    assert config["augment"] == "shift" and config["schedule"] == "onecycle"
    assert result.metrics["test_accuracy"] >= 0.97  # measured 0.9820 (seed 0)
    assert result.history.epochs == 4


def test_cnn_fast_recipe_reaches_99_percent():
    """The whole cnn-fast recipe (2 epochs of a small BatchNorm conv net, one-cycle) on the
    standard split: the 99% it is for (seeds 8-10 measured 99.05-99.21%, ~20 s)."""
    data = load_mnist(split="standard", progress=False)
    config = make_config("cnn-fast")
    result = run_training(config, data=data, bar=False, log=lambda *a, **k: None)
    assert config["epochs"] == 2 and config["arch"].startswith("conv16k3")
    assert result.metrics["test_accuracy"] >= 0.988  # measured 0.9918 (seed 0)
    assert result.history.epochs == 2 and result.history.best_epoch is None


def test_the_users_hidden_sizes_replace_a_recipes_layers():
    """--hidden given with a recipe that sets --arch (cnn) builds the user's layers: an
    option given overrides the recipe (before, the recipe's --arch silently won)."""
    assert make_config("cnn")["arch"].startswith("conv32k3")
    config = make_config("cnn", hidden=[64])
    assert config["arch"] is None and config["hidden"] == [64]
    assert config["optimizer"] == "adamw"  # the rest of the recipe stays
    both = make_config("cnn", hidden=[64], arch="conv8k3,dense16")
    assert both["arch"] == "conv8k3,dense16"  # --arch given: it wins, as documented


def test_recipes_use_only_known_options():
    """Every recipe is a valid configuration, and 'blog' is the post's."""
    assert RECIPES["blog"] == {}
    for recipe in RECIPES:
        make_config(recipe)
    blog = make_config("blog")
    assert (blog["hidden"], blog["epochs"], blog["batch_size"], blog["lr"]) == \
        ([32, 32], 40, 64, 0.05)


@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.05), ("adam", 0.001), ("adamw", 0.001),
                                              ("rmsprop", 0.01), ("adagrad", 0.01)])
def test_each_optimizer_gets_its_own_default_lr(optimizer, lr):
    """Without --lr an optimizer starts at its own rate (PyTorch's; sgd the blog's); a given
    lr, and a recipe's, win; 'none' is the optimizer's own again."""
    assert make_config(optimizer=optimizer)["lr"] == lr
    assert make_config(optimizer=optimizer, lr=0.3)["lr"] == 0.3
    assert make_config("best", optimizer=optimizer)["lr"] == RECIPES["best"]["lr"]
    assert make_config("best", optimizer=optimizer, lr=None)["lr"] == lr


def test_recipes_and_help_show_the_settings_that_apply(capsys):
    """'nnscratch recipes NAME' shows nesterov off where the momentum is 0, and --help names
    each optimizer's default learning rate."""
    from nnscratch.cli import build_parser, main

    assert main(["recipes", "blog"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "  --lr              0.05" in lines and "  --nesterov        False" in lines
    # the values in one column, also after the longest flag
    assert "  --label-smoothing 0.0" in lines
    assert len({line.index(line.split()[1], len(line.split()[0]) + 2) for line in lines[1:]}) == 1
    assert make_config(momentum=0.9)["nesterov"] is True
    train_help = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "the optimizer's own: sgd 0.05, adam 0.001, adamw 0.001, rmsprop 0.01, adagrad 0.01" \
        in " ".join(train_help.split())


@pytest.mark.parametrize(("size", "blocks"), [((32, 32), "conv32k3same,pool2,conv64k3same,pool2,"
                                                         "conv128k3same,pool2"),
                                              ((64, 48), "conv32k3same,pool2,conv64k3same,pool2,"
                                                         "conv128k3same,pool2"),
                                              ((64, 64), "conv32k3same,pool2,conv64k3same,pool2,"
                                                         "conv128k3same,pool2,conv128k3same,pool2"),
                                              ((28, 28), "conv32k3same,pool2,conv64k3same,pool2"),
                                              ((12, 20), "conv32k3same,pool2"),
                                              ((3, 3), "conv32k3same,pool2")])
def test_image_arch_follows_the_image_size(size, blocks):
    """The images recipe: each image's mean colour taken away, then poolings down to ~4x4
    (32 channels doubling, at most 128), and the network builds for that size."""
    from nnscratch.architecture import parse_arch
    from nnscratch.network import NeuralNetwork
    from nnscratch.recipes import image_arch
    arch = image_arch(*size)
    assert arch == f"center,{blocks},drop0.3,dense128,drop0.3"
    NeuralNetwork.from_architecture(parse_arch(arch), (3, *size), 10, head_activation="softmax")
