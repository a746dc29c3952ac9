"""wushe's nameko services and what they share (services.common)."""
import warnings

# nameko imports eventlet, which warns on import that it is deprecated (docs/stack.md:
# a plain Warning); it would break every process's JSON log lines.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
