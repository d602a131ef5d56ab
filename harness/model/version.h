/* patchvet's version: the one place reports, reproducers and the man page
 * (the Makefile reads it) take it from. */
#ifndef PV_MODEL_VERSION_H
#define PV_MODEL_VERSION_H

#define PV_VERSION "0.1.0"

#endif
