/*
 * src/core/pool.c - the blocking pool: threads that run ops the backend
 * cannot do asynchronously (file IO on the readiness backends, opcodes the
 * running kernel's io_uring lacks) and hand each result back to the op's
 * loop, where its callback runs like any other completion.
 *
 * One pool serves every loop in the process. Threads start lazily, one per
 * queued op that finds no idle thread, up to CIO_POOL_MAX_THREADS (or the
 * environment's CIO_POOL_THREADS); a thread idle for a while exits. Ops
 * queue intrusively through op->internal_.next, so the pool allocates
 * nothing but its threads. A finished op travels back on the loop's post
 * queue (the same lock-free stack cio_loop_post() uses) with a wake.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

#define CIO_POOL_MAX_THREADS 8
#define CIO_POOL_IDLE_SECONDS 5

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work;
    cio_op *head, *tail; /* queued ops, FIFO */
    unsigned threads;    /* running workers */
    unsigned idle;       /* workers waiting for work */
    unsigned max;        /* 0 until first use */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0};

/* fork() copies the pool's bookkeeping but not its threads: the child
 * starts with an empty pool (and a mutex nobody holds). */
static void before_fork(void) { pthread_mutex_lock(&pool.mu); }
static void after_fork_parent(void) { pthread_mutex_unlock(&pool.mu); }
static void after_fork_child(void) {
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.work, NULL);
    pool.head = pool.tail = NULL;
    pool.threads = pool.idle = 0;
}

static pthread_once_t fork_hooks_once = PTHREAD_ONCE_INIT;
static void install_fork_hooks(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

static unsigned pool_max(void) {
    const char *env = getenv("CIO_POOL_THREADS");
    long n = env ? strtol(env, NULL, 10) : 0;
    return n > 0 && n <= 1024 ? (unsigned)n : CIO_POOL_MAX_THREADS;
}

/* Hands a finished op back to its loop. */
static void deliver(cio_op *op) {
    cio_loop *loop = op->internal_.loop;
    cio_core *c = cio__core(loop);
    cio_op *head = atomic_load_explicit(&c->posts, memory_order_relaxed);
    do {
        op->internal_.next = head;
    } while (!atomic_compare_exchange_weak_explicit(&c->posts, &head, op, memory_order_release,
                                                    memory_order_relaxed));
    if (!head) cio_loop_wake(loop);
}

static void *worker(void *arg) {
    (void)arg;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (!pool.head) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += CIO_POOL_IDLE_SECONDS;
            pool.idle++;
            int r = pthread_cond_timedwait(&pool.work, &pool.mu, &until);
            pool.idle--;
            if (r != 0 && !pool.head) {
                pool.threads--;
                pthread_mutex_unlock(&pool.mu);
                return NULL;
            }
        }
        cio_op *op = pool.head;
        pool.head = op->internal_.next;
        if (!pool.head) pool.tail = NULL;
        pthread_mutex_unlock(&pool.mu);

        op->res = cio__sync_exec(op);

        deliver(op);
        pthread_mutex_lock(&pool.mu);
    }
}

int cio__pool_submit(cio_op *op) {
    pthread_once(&fork_hooks_once, install_fork_hooks);
    pthread_mutex_lock(&pool.mu);
    if (!pool.max) pool.max = pool_max();
    op->internal_.state = OP_POOL;
    op->internal_.next = NULL;
    if (pool.tail)
        pool.tail->internal_.next = op;
    else
        pool.head = op;
    pool.tail = op;
    int r = 0;
    if (pool.idle == 0 && pool.threads < pool.max) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (pthread_create(&t, &attr, worker, NULL) == 0)
            pool.threads++;
        else if (pool.threads == 0)
            r = -CIO_EAGAIN; /* no thread at all could run it */
        pthread_attr_destroy(&attr);
    } else {
        pthread_cond_signal(&pool.work);
    }
    if (r < 0) { /* take it back out: the caller completes it with the error */
        cio_op **pp = &pool.head, *prev = NULL;
        while (*pp != op) {
            prev = *pp;
            pp = &(*pp)->internal_.next;
        }
        *pp = NULL;
        pool.tail = prev;
    }
    pthread_mutex_unlock(&pool.mu);
    return r;
}

int cio__pool_cancel(cio_op *op) {
    pthread_mutex_lock(&pool.mu);
    int r = -CIO_EALREADY; /* running: it finishes with its own result */
    cio_op *prev = NULL;
    for (cio_op *it = pool.head; it; prev = it, it = it->internal_.next) {
        if (it != op) continue;
        if (prev)
            prev->internal_.next = op->internal_.next;
        else
            pool.head = op->internal_.next;
        if (pool.tail == op) pool.tail = prev;
        r = 0;
        break;
    }
    pthread_mutex_unlock(&pool.mu);
    return r;
}

cio_op *cio__pool_take_all(cio_loop *loop) {
    cio_op *taken = NULL, **last = &taken;
    pthread_mutex_lock(&pool.mu);
    cio_op **pp = &pool.head;
    pool.tail = NULL;
    while (*pp) {
        cio_op *op = *pp;
        if (op->internal_.loop == loop) {
            *pp = op->internal_.next;
            op->internal_.next = NULL;
            *last = op;
            last = &op->internal_.next;
        } else {
            pool.tail = op;
            pp = &op->internal_.next;
        }
    }
    pthread_mutex_unlock(&pool.mu);
    return taken;
}
