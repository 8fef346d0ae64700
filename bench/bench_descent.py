"""Full-batch gradient descent: every kernel side by side in each (N, epochs) cell of the sweep."""

#: The notebook's start and step size; with x in [0, 1) no N makes the descent diverge.
W0, B0 = 0.0, 0.0
LEARNING_RATE = 0.01


def test_descent(time_call, descend, problem, epochs):
    """One call of a kernel: ``epochs`` full-batch updates over the cell's N samples."""
    time_call(descend, problem.x, problem.y, W0, B0, LEARNING_RATE, epochs)
