-- Undo of V1.14.0.
DROP TABLE channel.connection_actions;
DROP VIEW channel.channel_status;
