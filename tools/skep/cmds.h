/* The subcommands: each gets argv starting at its own name and returns the exit
 * status (0 success, 1 refused/failed operation, 2 bad usage). */
#ifndef SKEP_TOOL_CMDS_H
#define SKEP_TOOL_CMDS_H

#ifndef SKEP_VERSION
#define SKEP_VERSION "0.1.0"
#endif

int cmd_asm(int argc, char **argv);     /* cmd_asm.c */
int cmd_disasm(int argc, char **argv);  /* cmd_disasm.c */
int cmd_prog(int argc, char **argv);    /* cmd_prog.c */
int cmd_prog_verify(int argc, char **argv); /* cmd_verify.c: skep prog verify */
int cmd_prog_show(int argc, char **argv); /* cmd_prog_show.c: skep prog show */
int cmd_prog_dump(int argc, char **argv); /* cmd_prog_dump.c: skep prog dump xlated|jited */
int cmd_map(int argc, char **argv);     /* cmd_map.c */
int cmd_btf(int argc, char **argv);     /* cmd_btf.c: skep btf dump */
int cmd_list(int argc, char **argv);    /* cmd_list.c: skep list uprobes|usdt */
int cmd_trace(int argc, char **argv);   /* cmd_trace.c: skep trace OBJ -- CMD */
int cmd_feature(int argc, char **argv); /* cmd_feature.c: skep feature probe */

/* main.c: print the help of `skep CMD [SUB]` from help.def on stdout; 0, or 2 (with a
 * message) when CMD or SUB is unknown. For a subcommand's -h/--help. */
int help_show(const char *cmd, const char *sub);

#endif
