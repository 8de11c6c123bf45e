import pytest


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Train the shortened examples on one BLAS thread.

    NOTE: on a machine whose cores are shared, OpenBLAS's worker threads spin-wait on each
    other for every small matmul (an LSTM step, a transformer block); we measured the same
    short run at 4 s on one thread and 4-18 s on two, depending on the load. One thread
    keeps these tests' time predictable and costs little when the machine is idle.
    """
    try:
        import threadpoolctl  # ships with scikit-learn, the examples' extra
    except ImportError:
        yield
        return
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        yield
