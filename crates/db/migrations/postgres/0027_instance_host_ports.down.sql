DROP TABLE instance_host_ports;
