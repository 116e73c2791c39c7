"""Where the pipeline meets the outside: the inbox's files, the warehouse, the files it writes."""
