/*
 * io_truth — I/O whose calls, bytes and resources are known by construction.
 *
 *   io_truth DIR    every kind of interposed call from its own function, on files in DIR
 *
 * Each site is a noinline function whose name the test looks for; the counts are the
 * constants below. On stdout: "io_truth: port P client_port C fd F", the TCP ports of the
 * localhost connection (the peers' names) and the descriptor the dup2 test wrote through.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone))

#define LOG_WRITES   50 /* write_log: write() of LOG_SIZE to log.txt */
#define LOG_SIZE     100
#define DATA_WRITES  20 /* pwrite_data: pwrite() of DATA_SIZE to data.bin */
#define DATA_SIZE    512
#define LOAD_READS   20 /* load: read() of DATA_SIZE from data.bin */
#define PREAD_READS  10 /* pread_back: pread() of DATA_SIZE from data.bin */
#define VEC_CALLS    5  /* vectored_write / vectored_read: 10 + 20 + 30 bytes each */
#define PIPE_CALLS   7  /* pipe_send / pipe_receive: PIPE_SIZE each */
#define PIPE_SIZE    33
#define TCP_CALLS    9 /* tcp_send / tcp_receive: TCP_SIZE each */
#define TCP_SIZE     200
#define DUP_WRITES   4 /* dup_write: write() of DUP_SIZE through the dup2'd descriptor */
#define DUP_SIZE     25
#define DUP_FD       40
#define STDIO_PIECES 1000 /* stdio_write / stdio_read: fwrite / fread of 64 bytes, 4096 buffer */
#define LINES        10   /* lines_write (fputs) / lines_read (getline): "line NN\n" */

static char buf[65536];

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static int open_in(const char *dir, const char *name, int flags)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, flags, 0644);
    if (fd < 0)
        die(path);
    return fd;
}

static FILE *fopen_in(const char *dir, const char *name, const char *mode)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, mode);
    if (!f)
        die(path);
    return f;
}

NOINLINE static void write_log(int fd)
{
    for (int i = 0; i < LOG_WRITES; i++)
        if (write(fd, buf, LOG_SIZE) != LOG_SIZE)
            die("write_log");
}

NOINLINE static void pwrite_data(int fd)
{
    for (int i = 0; i < DATA_WRITES; i++)
        if (pwrite(fd, buf, DATA_SIZE, (off_t)i * DATA_SIZE) != DATA_SIZE)
            die("pwrite_data");
}

NOINLINE static void load(int fd)
{
    for (int i = 0; i < LOAD_READS; i++)
        if (read(fd, buf, DATA_SIZE) != DATA_SIZE)
            die("load");
}

NOINLINE static void pread_back(int fd)
{
    for (int i = 0; i < PREAD_READS; i++)
        if (pread(fd, buf, DATA_SIZE, (off_t)i * DATA_SIZE) != DATA_SIZE)
            die("pread_back");
}

static void three_pieces(struct iovec iov[3])
{
    iov[0] = (struct iovec){buf, 10};
    iov[1] = (struct iovec){buf + 100, 20};
    iov[2] = (struct iovec){buf + 200, 30};
}

NOINLINE static void vectored_write(int fd)
{
    struct iovec iov[3];
    three_pieces(iov);
    for (int i = 0; i < VEC_CALLS; i++)
        if (writev(fd, iov, 3) != 60)
            die("vectored_write");
}

NOINLINE static void vectored_read(int fd)
{
    struct iovec iov[3];
    three_pieces(iov);
    for (int i = 0; i < VEC_CALLS; i++)
        if (readv(fd, iov, 3) != 60)
            die("vectored_read");
}

NOINLINE static void pipe_send(int fd)
{
    for (int i = 0; i < PIPE_CALLS; i++)
        if (write(fd, buf, PIPE_SIZE) != PIPE_SIZE)
            die("pipe_send");
}

NOINLINE static void pipe_receive(int fd)
{
    for (int i = 0; i < PIPE_CALLS; i++)
        if (read(fd, buf, PIPE_SIZE) != PIPE_SIZE)
            die("pipe_receive");
}

NOINLINE static void tcp_send(int fd)
{
    for (int i = 0; i < TCP_CALLS; i++)
        if (send(fd, buf, TCP_SIZE, 0) != TCP_SIZE)
            die("tcp_send");
}

NOINLINE static void tcp_receive(int fd)
{
    for (int i = 0; i < TCP_CALLS; i++)
        if (recv(fd, buf, TCP_SIZE, MSG_WAITALL) != TCP_SIZE)
            die("tcp_receive");
}

NOINLINE static void dup_write(int fd)
{
    for (int i = 0; i < DUP_WRITES; i++)
        if (write(fd, buf, DUP_SIZE) != DUP_SIZE)
            die("dup_write");
}

NOINLINE static void stdio_write(FILE *f)
{
    for (int i = 0; i < STDIO_PIECES; i++)
        if (fwrite(buf, 1, 64, f) != 64)
            die("stdio_write");
    if (fflush(f) != 0)
        die("stdio_write fflush");
}

NOINLINE static void stdio_read(FILE *f)
{
    for (int i = 0; i < STDIO_PIECES; i++)
        if (fread(buf, 1, 64, f) != 64)
            die("stdio_read");
    if (fread(buf, 1, 64, f) != 0) /* end of file: reaches the kernel, returns nothing */
        die("stdio_read end");
}

NOINLINE static void lines_write(FILE *f)
{
    for (int i = 0; i < LINES; i++) {
        char line[16];
        snprintf(line, sizeof(line), "line %02d\n", i);
        if (fputs(line, f) < 0)
            die("lines_write");
    }
}

NOINLINE static int lines_read(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) > 0)
        n++;
    free(line);
    return n;
}

static void files(const char *dir)
{
    int fd = open_in(dir, "log.txt", O_WRONLY | O_CREAT | O_TRUNC);
    write_log(fd);
    close(fd);

    fd = open_in(dir, "data.bin", O_RDWR | O_CREAT | O_TRUNC);
    pwrite_data(fd);
    close(fd);
    fd = open_in(dir, "data.bin", O_RDONLY);
    load(fd);
    pread_back(fd);
    close(fd);

    fd = open_in(dir, "vec.bin", O_RDWR | O_CREAT | O_TRUNC);
    vectored_write(fd);
    lseek(fd, 0, SEEK_SET);
    vectored_read(fd);
    close(fd);
}

static void pipes(void)
{
    int p[2];
    if (pipe(p) != 0)
        die("pipe");
    pipe_send(p[1]);
    pipe_receive(p[0]);
    close(p[0]);
    close(p[1]);
}

static int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("getsockname");
    return ntohs(a.sin_port);
}

static void tcp(int *port, int *client_port)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(listener, 1) != 0)
        die("listen");
    *port = port_of(listener);
    a.sin_port = htons((uint16_t)*port);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&a, sizeof(a)) != 0)
        die("connect");
    *client_port = port_of(client);
    int server = accept(listener, NULL, NULL);
    if (server < 0)
        die("accept");
    tcp_send(client); /* 1800 bytes fit in the socket buffers: one thread is enough */
    tcp_receive(server);
    close(client);
    close(server);
    close(listener);
}

static void duplicates(const char *dir)
{
    int fd = open_in(dir, "dup.txt", O_WRONLY | O_CREAT | O_TRUNC);
    if (dup2(fd, DUP_FD) != DUP_FD)
        die("dup2");
    close(fd);
    dup_write(DUP_FD); /* still dup.txt, though the descriptor nsprof saw opened is closed */
    int again = fcntl(DUP_FD, F_DUPFD_CLOEXEC, DUP_FD + 1);
    if (again < 0)
        die("fcntl");
    close(DUP_FD);
    dup_write(again);
    close(again);
}

static int stdio(const char *dir)
{
    static char wbuf[4096], rbuf[4096];
    FILE *f = fopen_in(dir, "stdio.bin", "w");
    setvbuf(f, wbuf, _IOFBF, sizeof(wbuf)); /* the buffer size the counts depend on */
    stdio_write(f);
    fclose(f);
    f = fopen_in(dir, "stdio.bin", "r");
    setvbuf(f, rbuf, _IOFBF, sizeof(rbuf));
    stdio_read(f);
    fclose(f);

    f = fopen_in(dir, "lines.txt", "w");
    lines_write(f);
    fclose(f);
    f = fopen_in(dir, "lines.txt", "r");
    int n = lines_read(f);
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: io_truth DIR\n");
        return 2;
    }
    memset(buf, 'x', sizeof(buf));
    int port, client_port;
    files(argv[1]);
    pipes();
    tcp(&port, &client_port);
    duplicates(argv[1]);
    int lines = stdio(argv[1]);
    printf("io_truth: port %d client_port %d fd %d lines %d\n", port, client_port, DUP_FD, lines);
    return lines == LINES ? 0 : 1;
}
