/*
 * elf_file — see elf_file.h.
 */
#include "elf_file.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "unwind.h"

#define MAX_NOTE_BYTES (64u << 10)

static struct ns_elf_file *cache;
static struct ns_elf_file *vdso;

static int same_identity(const struct ns_elf_file *f, const struct ns_elf_identity *id)
{
    if (id->build_id && id->build_id_len)
        return f->build_id_len == id->build_id_len &&
               memcmp(f->build_id, id->build_id, id->build_id_len) == 0;
    return f->build_id_len == 0 && f->dev == id->dev && f->ino == id->ino &&
           strcmp(f->path, id->path) == 0;
}

/* Opens path as process pid sees it. */
static int open_as(pid_t pid, const char *path)
{
    if (pid > 0 && path[0] == '/') {
        char p[PATH_MAX + 64];
        if (snprintf(p, sizeof(p), "/proc/%d/root%s", (int)pid, path) < (int)sizeof(p)) {
            int fd = open(p, O_RDONLY | O_CLOEXEC);
            if (fd >= 0)
                return fd;
        }
    }
    return open(path, O_RDONLY | O_CLOEXEC);
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    return pread(fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

/* The GNU build-id in a PT_NOTE segment's bytes. */
static size_t note_build_id(const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
    size_t off = 0;
    while (off + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr n;
        memcpy(&n, p + off, sizeof(n));
        size_t name = off + sizeof(n);
        size_t desc = name + ((n.n_namesz + 3u) & ~3u);
        size_t next = desc + ((n.n_descsz + 3u) & ~3u);
        if (next > len || next <= off || desc > len)
            break;
        if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && memcmp(p + name, "GNU", 4) == 0 &&
            n.n_descsz <= len - desc) {
            size_t l = n.n_descsz < cap ? n.n_descsz : cap;
            memcpy(out, p + desc, l);
            return l;
        }
        off = next;
    }
    return 0;
}

/* Reads the ELF header, program headers and build-id of fd into f. 0 if it is a 64-bit
 * little-endian x86-64 ELF file we can use. */
static int read_headers(int fd, struct ns_elf_file *f)
{
    Elf64_Ehdr eh;
    if (read_at(fd, &eh, sizeof(eh), 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256)
        return -1;
    Elf64_Phdr ph[256];
    if (read_at(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff) < 0)
        return -1;
    f->type = eh.e_type;
    int interp = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && f->nloads < NS_ELF_MAX_LOADS) {
            f->loads[f->nloads++] = (struct ns_elf_load){
                ph[i].p_vaddr, ph[i].p_offset, ph[i].p_filesz, ph[i].p_memsz, ph[i].p_flags};
        } else if (ph[i].p_type == PT_GNU_EH_FRAME) {
            f->eh_frame_hdr = ph[i].p_vaddr;
        } else if (ph[i].p_type == PT_INTERP) {
            interp = 1;
        } else if (ph[i].p_type == PT_NOTE && !f->build_id_len && ph[i].p_filesz > 0 &&
                   ph[i].p_filesz <= MAX_NOTE_BYTES) {
            uint8_t notes[MAX_NOTE_BYTES];
            if (read_at(fd, notes, ph[i].p_filesz, ph[i].p_offset) == 0)
                f->build_id_len =
                    (uint8_t)note_build_id(notes, ph[i].p_filesz, f->build_id, sizeof(f->build_id));
        }
    }
    f->is_main_exe = eh.e_type == ET_EXEC || (eh.e_type == ET_DYN && interp);
    return f->nloads ? 0 : -1;
}

struct ns_elf_file *ns_elf_file_get(pid_t pid, const struct ns_elf_identity *id)
{
    for (struct ns_elf_file *f = cache; f; f = f->next) {
        if (same_identity(f, id))
            return f;
    }
    struct ns_elf_file *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(id->path))) {
        free(f);
        return NULL;
    }
    f->cfi_state = NS_CFI_PENDING;
    int fd = open_as(pid, id->path);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read_headers(fd, f) == 0) {
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        /* The identity the kernel reported is the one we must match. */
        if (id->build_id && id->build_id_len)
            f->readable = f->build_id_len == id->build_id_len &&
                          memcmp(f->build_id, id->build_id, id->build_id_len) == 0;
        else
            f->readable = major(st.st_dev) == major(id->dev) &&
                          minor(st.st_dev) == minor(id->dev) && st.st_ino == id->ino;
    }
    if (fd >= 0)
        close(fd);
    if (!f->readable) {
        /* Keep what the kernel said, so that the cache finds this entry again. */
        f->nloads = 0;
        f->cfi_state = NS_CFI_NONE;
        if (id->build_id && id->build_id_len) {
            f->build_id_len = (uint8_t)(id->build_id_len < 64 ? id->build_id_len : 64);
            memcpy(f->build_id, id->build_id, f->build_id_len);
        } else {
            f->build_id_len = 0;
            f->dev = id->dev;
            f->ino = id->ino;
        }
    }
    f->next = cache;
    cache = f;
    return f;
}

uint64_t ns_elf_bias(const struct ns_elf_file *f, uint64_t addr, uint64_t pgoff)
{
    for (uint32_t i = 0; i < f->nloads; i++) {
        const struct ns_elf_load *l = &f->loads[i];
        uint64_t page_off = l->offset & ~0xfffull;
        if (pgoff >= page_off && pgoff < l->offset + (l->filesz ? l->filesz : 1))
            return addr - pgoff - (l->vaddr - l->offset);
    }
    return addr - pgoff; /* unknown file: the common case of vaddr == offset */
}

/* Maps the file's loadable segments at their relative addresses and compiles its .eh_frame
 * there. */
static struct ns_cfi_table *build_from_file(int fd, const struct ns_elf_file *f)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < f->nloads; i++) {
        uint64_t s = f->loads[i].vaddr & ~0xfffull, e = f->loads[i].vaddr + f->loads[i].memsz;
        if (s < lo)
            lo = s;
        if (e > hi)
            hi = e;
    }
    if (lo >= hi || hi - lo > (1ull << 32))
        return NULL;
    size_t span = (size_t)((hi - lo + 0xfff) & ~0xfffull);
    uint8_t *base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    uintptr_t bias = (uintptr_t)base - lo;
    struct ns_cfi_segment segs[NS_ELF_MAX_LOADS];
    size_t nsegs = 0;
    for (uint32_t i = 0; i < f->nloads; i++) {
        const struct ns_elf_load *l = &f->loads[i];
        if (!l->filesz || (l->offset & 0xfff) != (l->vaddr & 0xfff))
            continue;
        uint64_t page = l->vaddr & ~0xfffull, delta = l->vaddr - page;
        void *p = mmap((void *)(bias + page), l->filesz + delta, PROT_READ, MAP_PRIVATE | MAP_FIXED,
                       fd, (off_t)(l->offset - delta));
        if (p == MAP_FAILED)
            continue;
        /* Only the file's bytes: the tail of a page past filesz is not the segment's. */
        segs[nsegs++] = (struct ns_cfi_segment){bias + l->vaddr, l->filesz};
    }
    struct ns_cfi_table *t =
        nsegs ? ns_cfi_build_from_memory(bias, bias + f->eh_frame_hdr, segs, nsegs) : NULL;
    munmap(base, span);
    return t;
}

const struct ns_cfi_table *ns_elf_cfi(struct ns_elf_file *f, pid_t pid)
{
    if (f->cfi_state != NS_CFI_PENDING)
        return f->cfi;
    f->cfi_state = NS_CFI_NONE;
    if (!f->readable || !f->eh_frame_hdr)
        return NULL;
    int fd = open_as(pid, f->path);
    struct stat st;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino)
        f->cfi = build_from_file(fd, f);
    close(fd);
    if (f->cfi)
        f->cfi_state = NS_CFI_READY;
    return f->cfi;
}

struct ns_elf_file *ns_elf_vdso(void)
{
    if (vdso)
        return vdso;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
    vdso = calloc(1, sizeof(*vdso));
    if (!vdso)
        return NULL;
    vdso->path = strdup("[vdso]");
    vdso->cfi_state = NS_CFI_NONE;
    if (!eh || !vdso->path)
        return vdso;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const uint8_t *)eh + eh->e_phoff);
    struct ns_cfi_segment segs[NS_ELF_MAX_LOADS];
    size_t nsegs = 0;
    uintptr_t bias = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
            bias = (uintptr_t)eh - ph[i].p_vaddr;
    }
    for (int i = 0; i < eh->e_phnum && vdso->nloads < NS_ELF_MAX_LOADS; i++) {
        if (ph[i].p_type == PT_LOAD) {
            vdso->loads[vdso->nloads++] = (struct ns_elf_load){
                ph[i].p_vaddr, ph[i].p_offset, ph[i].p_filesz, ph[i].p_memsz, ph[i].p_flags};
            segs[nsegs++] = (struct ns_cfi_segment){bias + ph[i].p_vaddr, ph[i].p_memsz};
        } else if (ph[i].p_type == PT_GNU_EH_FRAME) {
            vdso->eh_frame_hdr = ph[i].p_vaddr;
        } else if (ph[i].p_type == PT_NOTE) {
            vdso->build_id_len =
                (uint8_t)note_build_id((const uint8_t *)(bias + ph[i].p_vaddr), ph[i].p_memsz,
                                       vdso->build_id, sizeof(vdso->build_id));
        }
    }
    vdso->readable = 1;
    if (vdso->eh_frame_hdr && nsegs)
        vdso->cfi = ns_cfi_build_from_memory(bias, bias + vdso->eh_frame_hdr, segs, nsegs);
    vdso->cfi_state = vdso->cfi ? NS_CFI_READY : NS_CFI_NONE;
    return vdso;
}

void ns_elf_cache_clear(void)
{
    struct ns_elf_file *all[2] = {cache, vdso};
    for (int k = 0; k < 2; k++) {
        for (struct ns_elf_file *f = all[k], *next; f; f = next) {
            next = k == 0 ? f->next : NULL;
            if (f->cfi)
                ns_cfi_free(f->cfi);
            free(f->path);
            free(f);
        }
    }
    cache = vdso = NULL;
}
