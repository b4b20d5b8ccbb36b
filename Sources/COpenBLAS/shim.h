#ifndef MOVIOLA_COPENBLAS_SHIM_H
#define MOVIOLA_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
