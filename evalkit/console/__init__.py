"""Progress bars and log formatting shared by the stages and the commands."""
