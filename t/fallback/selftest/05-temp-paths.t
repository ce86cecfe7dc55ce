# vi:ft=perl
# Temp paths under the server root, as Test::Nginx 0.33 writes them into the
# http block: a request body kept in a file ends up in
# <servroot>/client_body_temp, not in the binary's compiled-in path
# (/var/lib/nginx/body for Debian's, which only root can write), unless
# --- http_config sets client_body_temp_path itself.
use Test::Nginx::Socket;

repeat_each(2);
plan tests => repeat_each() * blocks() * 3;

our $ServRoot = server_root();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a request body in a file goes to <servroot>/client_body_temp
--- config
    location = /t {
        client_body_in_file_only on;
        proxy_set_header X-Body-File $request_body_file;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "$http_x_body_file\n";
    }
--- request eval
"POST /t\n" . ("x" x 70000)
--- response_body_like eval
qr{^\Q$::ServRoot\E/client_body_temp/\d+\n\z}
--- no_error_log
[crit]



=== TEST 2: --- http_config with its own client_body_temp_path wins
--- http_config
    client_body_temp_path $TEST_NGINX_SERVER_ROOT/my_body_temp;
--- config
    location = /t {
        client_body_in_file_only on;
        proxy_set_header X-Body-File $request_body_file;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/echo;
    }
    location = /echo {
        return 200 "$http_x_body_file\n";
    }
--- request eval
"POST /t\n" . ("y" x 70000)
--- response_body_like eval
qr{^\Q$::ServRoot\E/my_body_temp/\d+\n\z}
--- no_error_log
[crit]
