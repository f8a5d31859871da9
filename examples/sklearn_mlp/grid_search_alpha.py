"""scikit-learn's "Varying regularization in Multi-layer Perceptron" example turned into a
search, with only the import changed: GridSearchCV over alpha and the hidden layer sizes
of an lbfgs MLPClassifier in a Pipeline, on three toy data sets.
"""

import numpy as np
from sklearn.datasets import make_circles, make_classification, make_moons
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nnscratch.sklearn import MLPClassifier

X, y = make_classification(n_features=2, n_redundant=0, n_informative=2, random_state=0,
                           n_clusters_per_class=1)
rng = np.random.RandomState(2)
X += 2 * rng.uniform(size=X.shape)
datasets = [("moons", make_moons(noise=0.3, random_state=0)),
            ("circles", make_circles(noise=0.2, factor=0.5, random_state=1)),
            ("linear", (X, y))]

alphas = np.logspace(-1, 1, 3)
for name, (X, y) in datasets:
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=42)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(solver="lbfgs", max_iter=2000,
                                                         early_stopping=True,
                                                         random_state=1))
    grid = {"mlpclassifier__alpha": alphas,
            "mlpclassifier__hidden_layer_sizes": [(10,), (10, 10)]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)
    best = search.best_params_
    print(f"{name}: best alpha {best['mlpclassifier__alpha']:.2f}, hidden "
          f"{best['mlpclassifier__hidden_layer_sizes']}, cv {search.best_score_:.2f}, "
          f"test {search.score(X_test, y_test):.2f}")
    scores = cross_val_score(search.best_estimator_, X, y, cv=5)
    print(f"{name}: 5-fold accuracy {scores.mean():.2f} +/- {scores.std():.2f}")
