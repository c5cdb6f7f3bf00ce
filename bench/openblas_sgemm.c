/* OpenBLAS sgemm reference for bench/gemm.ts, compiled at bench time:
 *   cc -O2 bench/openblas_sgemm.c -o <tmp>/openblas_sgemm -lopenblas
 * Usage: openblas_sgemm THREADS MIN_SECONDS M,K,N ...   (one-shot)
 *        openblas_sgemm --serve                         (interleaved, see serve())
 *        openblas_sgemm --core                          (prints the core OpenBLAS picked)
 * For each shape and layout (nn: A·B, nt: A·Bᵀ, tn: Aᵀ·B, row-major, as src/engine/kernels.ts) prints
 * one JSON line {layout, M, K, N, threads, best, median, reps} with GFLOP/s, after one warm-up call;
 * repetitions run until MIN_SECONDS have passed (at least 3). The first line names OpenBLAS's core. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char* openblas_get_corename(void);
char* openblas_get_config(void);
void openblas_set_num_threads(int);

static clockid_t clock_kind = CLOCK_MONOTONIC;

static double now(void) {
  struct timespec t;
  clock_gettime(clock_kind, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* Serve mode: read "LAYOUT M K N THREADS MIN_SECONDS CLOCK" lines on stdin (CLOCK: wall | cpu, the
 * process's CPU time, meaningful for one thread) and answer each with one JSON
 * line {"best":GFLOP/s,"median":GFLOP/s,"reps":n}, so the caller can interleave its own timings with
 * OpenBLAS's in short slices (a fair comparison on a machine shared with other work). */
static int serve(void) {
  char layout[8];
  long M, K, N;
  int threads;
  double minSec;
  char clk[8];
  float *A = NULL, *B = NULL, *C = NULL;
  long cap[3] = {0, 0, 0};
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (scanf("%7s %ld %ld %ld %d %lf %7s", layout, &M, &K, &N, &threads, &minSec, clk) == 7) {
    clock_kind = !strcmp(clk, "cpu") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    if (M * K > cap[0]) { free(A); A = malloc(sizeof(float) * M * K); cap[0] = M * K; for (long i = 0; i < M * K; i++) A[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f; }
    if (K * N > cap[1]) { free(B); B = malloc(sizeof(float) * K * N); cap[1] = K * N; for (long i = 0; i < K * N; i++) B[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f; }
    if (M * N > cap[2]) { free(C); C = malloc(sizeof(float) * M * N); cap[2] = M * N; }
    int l = !strcmp(layout, "nt") ? 1 : !strcmp(layout, "tn") ? 2 : 0;
    enum CBLAS_TRANSPOSE ta = l == 2 ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = l == 1 ? CblasTrans : CblasNoTrans;
    long lda = l == 2 ? M : K, ldb = l == 1 ? K : N;
    openblas_set_num_threads(threads);
    double times[4096];
    int n = 0;
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    for (;;) {
      double t0 = now();
      cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
      times[n++] = now() - t0;
      clock_gettime(CLOCK_MONOTONIC, &w1);
      if (n >= 4096 || (n >= 3 && (w1.tv_sec - w0.tv_sec) + (w1.tv_nsec - w0.tv_nsec) * 1e-9 >= minSec)) break;
    }
    qsort(times, n, sizeof(double), cmp);
    double flops = 2.0 * M * N * K;
    printf("{\"best\":%.2f,\"median\":%.2f,\"reps\":%d}\n", flops / times[0] * 1e-9, flops / times[n / 2] * 1e-9, n);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && !strcmp(argv[1], "--core")) {
    printf("%s\n", openblas_get_corename());
    return 0;
  }
  if (argc == 2 && !strcmp(argv[1], "--serve")) return serve();
  if (argc < 4) {
    fprintf(stderr, "usage: %s THREADS MIN_SECONDS M,K,N ...\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]);
  double minSec = atof(argv[2]);
  openblas_set_num_threads(threads);
  printf("{\"core\":\"%s\",\"config\":\"%s\"}\n", openblas_get_corename(), openblas_get_config());
  const char* layouts[] = {"nn", "nt", "tn"};
  for (int s = 3; s < argc; s++) {
    long M, K, N;
    if (sscanf(argv[s], "%ld,%ld,%ld", &M, &K, &N) != 3) {
      fprintf(stderr, "bad shape %s\n", argv[s]);
      return 2;
    }
    float* A = malloc(sizeof(float) * M * K);
    float* B = malloc(sizeof(float) * K * N);
    float* C = malloc(sizeof(float) * M * N);
    for (long i = 0; i < M * K; i++) A[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (long i = 0; i < K * N; i++) B[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    for (int l = 0; l < 3; l++) {
      enum CBLAS_TRANSPOSE ta = l == 2 ? CblasTrans : CblasNoTrans;
      enum CBLAS_TRANSPOSE tb = l == 1 ? CblasTrans : CblasNoTrans;
      long lda = l == 2 ? M : K, ldb = l == 1 ? K : N;
      double times[4096];
      int n = 0;
      cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
      double start = now();
      while (n < 4096 && (n < 3 || now() - start < minSec)) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, N);
        times[n++] = now() - t0;
      }
      qsort(times, n, sizeof(double), cmp);
      double flops = 2.0 * M * N * K;
      printf("{\"layout\":\"%s\",\"M\":%ld,\"K\":%ld,\"N\":%ld,\"threads\":%d,\"best\":%.2f,\"median\":%.2f,\"reps\":%d}\n",
             layouts[l], M, K, N, threads, flops / times[0] * 1e-9, flops / times[n / 2] * 1e-9, n);
    }
    free(A);
    free(B);
    free(C);
  }
  return 0;
}
