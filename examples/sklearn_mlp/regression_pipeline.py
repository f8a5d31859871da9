"""A regression as scikit-learn's docs write it (the partial-dependence example's MLP), on
the bundled diabetes data, with only the import changed: a Pipeline with a scaler,
early stopping, and sklearn.inspection on the fitted pipeline.
"""

from sklearn.datasets import load_diabetes
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer, StandardScaler

from nnscratch.sklearn import MLPRegressor

X, y = load_diabetes(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)

mlp_model = make_pipeline(
    QuantileTransformer(n_quantiles=100),
    MLPRegressor(hidden_layer_sizes=(30, 15), learning_rate_init=0.01, early_stopping=True,
                 max_iter=2000, random_state=0),
)
mlp_model.fit(X_train, y_train / y_train.std())
mlp = mlp_model[-1]
print(f"Test R2 score: {mlp_model.score(X_test, y_test / y_train.std()):.2f}")
print(f"stopped after {mlp.n_iter_} epochs, best validation R2 "
      f"{mlp.best_validation_score_:.3f}")

scaled = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs",
                                                      alpha=10.0,
                                                      max_iter=5000, random_state=0))
scaled.fit(X_train, y_train)
print(f"lbfgs Test R2 score: {scaled.score(X_test, y_test):.2f}")

pd_results = partial_dependence(mlp_model, X_train, features=["bmi"], grid_resolution=10)
print("partial dependence on bmi:", pd_results["average"].round(2).tolist())
importance = permutation_importance(scaled, X_test, y_test, n_repeats=3, random_state=0)
top = X.columns[importance.importances_mean.argsort()[::-1][:3]]
print("most important features:", list(top))
