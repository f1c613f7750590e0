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
int cmd_map(int argc, char **argv);     /* cmd_map.c */

#endif
