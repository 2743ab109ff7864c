/* gimp-diffusion command-line tool (placeholder until `info` lands). */
#include "dm.h"
int main(void) { return 0; }
