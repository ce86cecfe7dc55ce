# vi:ft=perl
use Test::Nginx::Socket;

repeat_each(2);

# per repeat: 2 + 2 + 4 + 5 + 3 + 4 + 2 + 2 + 1 + 4
plan tests => repeat_each() * 29;

$ENV{TEST_NGINX_GREETING} = 'hello';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: plain return + env substitution in config
--- config
    location = /t {
        return 200 "$TEST_NGINX_GREETING port=$TEST_NGINX_SERVER_PORT\n";
    }
--- request
    GET /t
--- response_body
hello port=$ServerPort



=== TEST 2: status code and body_like
--- config
    location = /t {
        return 404 "nope";
    }
--- request
GET /t
--- error_code: 404
--- response_body_like: ^no



=== TEST 3: multiple requests on separate connections, eval arrays
--- config
    location = /a { return 200 "A"; }
    location = /b { return 201 "B"; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 201]
--- response_body eval
["A", "B"]



=== TEST 4: response headers incl. absent header
--- config
    location = /t {
        add_header X-Foo bar;
        return 200 "ok";
    }
--- request
GET /t
--- response_headers
X-Foo: bar
!X-Absent
Content-Type: text/plain
--- response_body chomp
ok



=== TEST 5: more_headers + POST body (Content-Length auto)
--- config
    location = /t {
        return 200 "h=$http_x_test cl=$http_content_length\n";
    }
--- more_headers
X-Test: 42
--- request
POST /t
hello world
--- response_body
h=42 cl=11
--- response_headers_like
Server: nginx.*



=== TEST 6: error_log / no_error_log
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- error_log
http finalize request
--- no_error_log
[error]
[alert]



=== TEST 7: chunked response (sub_filter drops Content-Length)
--- config
    location = /f.txt {
        root html;
        sub_filter 'world' 'there';
        sub_filter_types *;
    }
--- user_files
>>> f.txt
hello world
--- request
GET /f.txt
--- response_body
hello there
--- raw_response_headers_like_not_used



=== TEST 8: grep_error_log
--- config
    location = /t {
        return 200;
    }
--- request
GET /t
--- grep_error_log eval: qr/http request line: "[^"]+"/
--- grep_error_log_out
http request line: "GET /t HTTP/1.1"



=== TEST 9: timeout + abort (incomplete request, nginx keeps waiting)
--- config
    location = /t {
        return 200;
    }
--- raw_request eval
"GET /t HTTP/1.1\r\nHost: localhost\r\n"
--- timeout: 300ms
--- abort
--- ignore_response
--- no_error_log
[error]



=== TEST 10: pipelined requests on one keep-alive connection
--- config
    location = /a { return 200 "A"; }
    location = /b { return 200 "B"; }
--- pipelined_requests eval
["GET /a", "GET /b"]
--- response_body eval
["A", "B"]
