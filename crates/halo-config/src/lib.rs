//! Reads ha.cf, authkeys and haresources into typed configuration; every error names file, line and directive.
