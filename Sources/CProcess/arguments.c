#include "process.h"
#include <stddef.h>

// A statically linked Swift runtime reads CommandLine.arguments from /proc/self/cmdline; where
// /proc is not mounted (a bare chroot, some sandboxes) every command would silently see no
// arguments and print the help. glibc calls .init_array functions with argc, argv and envp, so
// the arguments are kept here, from the source, before Swift's main runs.
static int saved_argc;
static char **saved_argv;

static void airgap_save_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

__attribute__((section(".init_array"), used))
static void (*const airgap_save_arguments_entry)(int, char **, char **) = airgap_save_arguments;

int airgap_argc(void) { return saved_argc; }
char **airgap_argv(void) { return saved_argv; }
