/*
 * rule_leak — leak. `fire`: build_list() allocates 20,000 nodes of 100 bytes and the
 * program exits without freeing them (2 MB live at exit). `fixed`: the same list, freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    char payload[92];
};

static struct node *head;

__attribute__((noipa)) static void build_list(int n)
{
    for (int i = 0; i < n; i++) {
        struct node *x = malloc(sizeof(*x));
        if (!x)
            abort();
        memset(x->payload, i, sizeof(x->payload));
        x->next = head;
        head = x;
    }
}

__attribute__((noipa)) static void free_list(void)
{
    while (head) {
        struct node *next = head->next;
        free(head);
        head = next;
    }
}

int main(int argc, char **argv)
{
    build_list(20000);
    if (!(argc > 1 && strcmp(argv[1], "fire") == 0))
        free_list();
    return 0;
}
