/* Tell Intel MKL that the CPU is an Intel one, so that it dispatches its AVX2/AVX-512 kernels on
 * AMD CPUs too (MKL checks the vendor before the CPU's feature flags; on AMD it otherwise takes a
 * generic path: paddle.matmul 31 vs 163 GFLOP/s on one core of an AMD EPYC with AVX-512).
 * Loaded by roots_zh.utils.cpu_blas with RTLD_GLOBAL before MKL's first call; the feature flags
 * still decide which kernels run. */
int mkl_serv_intel_cpu_true(void) { return 1; }
