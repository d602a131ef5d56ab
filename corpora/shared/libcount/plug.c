/* libpvplug: what libcount's late thread loads and unloads. */
int plug_twice(int x)
{
	return 2 * x;
}
