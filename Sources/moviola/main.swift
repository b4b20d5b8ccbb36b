import MoviolaTensor

// Must run before any BLAS work: OpenBLAS reads its core type once, at start-up.
BLASCore.relaunchWithPreferredCoreIfNeeded()
BLASCore.configureAllocator()
Moviola.main()
