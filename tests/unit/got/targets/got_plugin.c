/* A plugin dlopen'ed RTLD_LOCAL after the patch, bound to the second copy of the library
 * (libgot_target2: got_add adds 1000). */
int got_add(int a, int b);
int got_plugin_add(int a, int b);

int got_plugin_add(int a, int b)
{
    return got_add(a, b);
}

int got_local_add(int a, int b);
int got_plugin_local(int a, int b);
int got_plugin_local(int a, int b)
{
    return got_local_add(a, b);
}
